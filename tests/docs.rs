//! The documentation holds together: every relative link in `README.md`, `BENCHMARKS.md` and
//! `docs/*.md` names a file that exists and, with a `#fragment`, a heading of the Markdown file it
//! names (as GitHub makes anchors); and the README draws the architecture as a Mermaid diagram.
//! Reads files only: no stack needed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// What the checker may look at: Markdown to read for headings, and whether a path exists.
trait Files {
    fn markdown(&self, path: &Path) -> Option<String>;
    fn exists(&self, path: &Path) -> bool;
}

/// The repository on disk; paths are relative to its root.
struct Disk;

impl Files for Disk {
    fn markdown(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(root().join(path)).ok()
    }
    fn exists(&self, path: &Path) -> bool {
        root().join(path).exists()
    }
}

/// Files in memory, for the checker's own tests; a directory exists when a file lies under it.
struct Memory(BTreeMap<PathBuf, String>);

impl Files for Memory {
    fn markdown(&self, path: &Path) -> Option<String> {
        self.0.get(path).cloned()
    }
    fn exists(&self, path: &Path) -> bool {
        self.0.keys().any(|file| file.starts_with(path))
    }
}

fn parser(text: &str) -> Parser<'_> {
    Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH)
}

/// GitHub's anchor for a heading's text: lowercase, only letters, digits, spaces, hyphens and
/// underscores kept, each space a hyphen.
fn slug(heading: &str) -> String {
    heading
        .chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor a Markdown document's headings make, duplicates numbered `-1`, `-2`, ... as
/// GitHub numbers them.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in parser(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(text) | Event::Code(text) => {
                if let Some(heading) = heading.as_mut() {
                    heading.push_str(&text);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&heading.take().unwrap_or_default());
                let mut anchor = base.clone();
                while seen.contains_key(&anchor) {
                    let count = seen.entry(base.clone()).or_insert(0);
                    *count += 1;
                    anchor = format!("{base}-{count}");
                }
                seen.insert(anchor.clone(), 0);
                anchors.insert(anchor);
            }
            _ => {}
        }
    }
    anchors
}

/// The destination of every link and image in a Markdown document, in order. Code spans and code
/// blocks hold no links, so what they show is never checked.
fn links(markdown: &str) -> Vec<String> {
    parser(markdown)
        .filter_map(|event| match event {
            Event::Start(Tag::Link {
                link_type: LinkType::Email,
                ..
            }) => None,
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                Some(dest_url.into_string())
            }
            _ => None,
        })
        .collect()
}

fn is_absolute(target: &str) -> bool {
    ["http://", "https://", "mailto:", "//"]
        .iter()
        .any(|scheme| target.starts_with(scheme))
}

/// `base` joined with `relative`, `.` and `..` worked out without touching the disk; `None` when
/// it climbs out of the repository.
fn resolve(base: &Path, relative: &str) -> Option<PathBuf> {
    let joined = if let Some(from_root) = relative.strip_prefix('/') {
        PathBuf::from(from_root)
    } else {
        base.join(relative)
    };
    let mut path = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !path.pop() {
                    return None;
                }
            }
            Component::Normal(part) => path.push(part),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(path)
}

/// What the check found: how many relative links it followed, and every one that is broken.
#[derive(Debug, Default)]
struct Report {
    checked: usize,
    broken: Vec<String>,
}

/// Checks every relative link of each document (paths relative to the repository's root).
fn check(files: &impl Files, documents: &[PathBuf]) -> Report {
    let mut report = Report::default();
    let mut anchors_of: HashMap<PathBuf, Option<BTreeSet<String>>> = HashMap::new();
    for document in documents {
        let markdown = files
            .markdown(document)
            .unwrap_or_else(|| panic!("{} cannot be read", document.display()));
        let dir = document.parent().unwrap_or_else(|| Path::new(""));
        for target in links(&markdown) {
            if is_absolute(&target) {
                continue;
            }
            report.checked += 1;
            let (file, fragment) = match target.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (target.as_str(), None),
            };
            let linked = if file.is_empty() {
                document.clone()
            } else {
                let Some(linked) = resolve(dir, file) else {
                    report.broken.push(format!(
                        "{}: ({target}) leaves the repository",
                        document.display()
                    ));
                    continue;
                };
                if !files.exists(&linked) {
                    report.broken.push(format!(
                        "{}: ({target}) names {}, which does not exist",
                        document.display(),
                        linked.display()
                    ));
                    continue;
                }
                linked
            };
            let Some(fragment) = fragment else { continue };
            if linked.extension().is_none_or(|ext| ext != "md") {
                continue;
            }
            let anchors = anchors_of
                .entry(linked.clone())
                .or_insert_with(|| files.markdown(&linked).map(|text| anchors(&text)));
            if !anchors.as_ref().is_some_and(|set| set.contains(fragment)) {
                report.broken.push(format!(
                    "{}: ({target}) names no heading of {}",
                    document.display(),
                    linked.display()
                ));
            }
        }
    }
    report
}

/// `README.md`, `BENCHMARKS.md` and every `docs/*.md`, relative to the repository's root.
fn documents() -> Vec<PathBuf> {
    let mut documents = vec![PathBuf::from("README.md"), PathBuf::from("BENCHMARKS.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| PathBuf::from("docs").join(entry.unwrap().file_name()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    documents.extend(pages);
    documents
}

#[test]
fn every_relative_link_in_the_readme_and_the_docs_resolves() {
    // Given the README, BENCHMARKS.md and the docs pages
    let documents = documents();
    assert!(
        documents.len() >= 10,
        "expected README, BENCHMARKS and at least eight docs pages: {documents:?}"
    );

    // When every relative link is followed
    let report = check(&Disk, &documents);

    // Then each names a file that exists, and a heading of it where it has a fragment
    assert!(
        report.checked >= 30,
        "only {} relative links found: is the parser reading the files?",
        report.checked
    );
    assert!(
        report.broken.is_empty(),
        "broken links:\n{}",
        report.broken.join("\n")
    );
}

#[test]
fn the_readme_draws_the_architecture_as_a_mermaid_diagram() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut in_mermaid = false;
    let mut diagram = String::new();
    for event in parser(&readme) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                in_mermaid = &*info == "mermaid";
            }
            Event::Text(text) if in_mermaid => diagram.push_str(&text),
            Event::End(TagEnd::CodeBlock) => in_mermaid = false,
            _ => {}
        }
    }
    assert!(
        diagram.trim_start().starts_with("flowchart") || diagram.trim_start().starts_with("graph"),
        "README.md has no ```mermaid flowchart: {diagram:?}"
    );
    for node in ["API Gateway", "EventBridge", "DynamoDB", "ElastiCache"] {
        assert!(diagram.contains(node), "the diagram does not show {node}");
    }
}

#[test]
fn a_missing_file_and_a_missing_heading_are_both_reported() {
    // Given a README and a page with good links, broken ones, and links that are not checked
    let readme = "# Intro\n\n\
        [page](docs/page.md) [heading](docs/page.md#a-heading) [self](#intro) [dir](docs/)\n\
        [gone](docs/gone.md) [no anchor](docs/page.md#nowhere) [no self anchor](#outro)\n\
        [web](https://example.com/x.md) <mailto:someone@example.com> `[code](code.md)`\n\n\
        ```md\n[fenced](fenced.md)\n```\n";
    let page = "# A heading\n\n## Twice\n\n## Twice\n\n\
        [back](../README.md#intro) [second](#twice-1) [third](#twice-2) [out](../../x.md)\n";
    let files = Memory(BTreeMap::from([
        (PathBuf::from("README.md"), readme.to_owned()),
        (PathBuf::from("docs/page.md"), page.to_owned()),
    ]));

    // When both are checked
    let report = check(
        &files,
        &[PathBuf::from("README.md"), PathBuf::from("docs/page.md")],
    );

    // Then exactly the broken links are reported, and code and absolute links are skipped
    assert_eq!(
        report.broken,
        [
            "README.md: (docs/gone.md) names docs/gone.md, which does not exist",
            "README.md: (docs/page.md#nowhere) names no heading of docs/page.md",
            "README.md: (#outro) names no heading of README.md",
            "docs/page.md: (#twice-2) names no heading of docs/page.md",
            "docs/page.md: (../../x.md) leaves the repository",
        ]
    );
    assert_eq!(report.checked, 11);
}

#[test]
fn anchors_are_made_as_github_makes_them() {
    assert_eq!(
        slug("Rate impact: `POST /api/v1/rates/impact`"),
        "rate-impact-post-apiv1ratesimpact"
    );
    assert_eq!(slug("A request's path"), "a-requests-path");
    assert_eq!(
        slug("The life of a policy: endorse, cancel, reinstate, renew"),
        "the-life-of-a-policy-endorse-cancel-reinstate-renew"
    );
    assert_eq!(
        slug("snake_case and  two spaces"),
        "snake_case-and--two-spaces"
    );
    assert_eq!(
        anchors("# Tests\n\n## Tests\n\n### Tests\n\n## Tests-1\n"),
        BTreeSet::from(["tests", "tests-1", "tests-2", "tests-1-1"].map(String::from))
    );
}
