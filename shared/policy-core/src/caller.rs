//! Who is calling and what they may do, as plain data: the scopes routes ask for and the caller a
//! verified token names. How a caller is read from a request is the HTTP layer's business
//! (`api::auth`); the use cases only ever see a [`Caller`].

/// The scope that lifts per-caller isolation: its holder reads and binds every caller's records.
pub const ADMIN_SCOPE: &str = "policies:admin";
/// The owner of everything made while authorization is off.
pub const ANONYMOUS: &str = "anonymous";

/// What a route needs the caller to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `POST /api/v1/rates/calculate`.
    RatesCalculate,
    /// `GET /api/v1/quotes/{quote_id}`.
    QuotesRead,
    /// `POST /api/v1/quotes` and `POST /api/v1/quotes/{quote_id}/bind`.
    QuotesWrite,
    /// `GET /api/v1/policies` and `GET /api/v1/policies/{policy_number}`.
    PoliciesRead,
    /// The underwriters' queue and `POST /api/v1/quotes/{quote_id}/decision`.
    UnderwritingDecide,
    /// `POST /api/v1/rates/impact`: trying a candidate rate table on the whole book.
    RatesAdmin,
    /// The policy transactions: endorse, cancel, reinstate, renew.
    PoliciesWrite,
}

impl Scope {
    /// The OAuth scope string, as in `template.yaml`'s `AuthorizationScopes`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::RatesCalculate => "rates:calculate",
            Scope::QuotesRead => "quotes:read",
            Scope::QuotesWrite => "quotes:write",
            Scope::PoliciesRead => "policies:read",
            Scope::UnderwritingDecide => "underwriting:decide",
            Scope::RatesAdmin => "rates:admin",
            Scope::PoliciesWrite => "policies:write",
        }
    }
}

/// Whether the functions check the authorizer's claims (`AUTH_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every request must carry verified JWT claims with a subject and the route's scope.
    Jwt,
    /// No checks: every caller is [`ANONYMOUS`] and an administrator. Local development only.
    Off,
}

/// An authorized caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    id: String,
    admin: bool,
}

impl Caller {
    /// The caller a verified token names: its subject, and whether it holds [`ADMIN_SCOPE`].
    pub fn new(id: impl Into<String>, admin: bool) -> Caller {
        Caller {
            id: id.into(),
            admin,
        }
    }

    /// The one caller while authorization is off.
    pub fn anonymous_admin() -> Caller {
        Caller::new(ANONYMOUS, true)
    }

    /// The caller of a public route, which asks for no token: nobody in particular, with no rights.
    pub fn public() -> Caller {
        Caller::new("", false)
    }

    /// The token's subject.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Holds [`ADMIN_SCOPE`].
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// Whether this caller may read or change a record made by `owner`.
    pub fn may_access(&self, owner: &str) -> bool {
        self.admin || (!self.id.is_empty() && self.id == owner)
    }

    /// The owner a list must be limited to: none for an administrator.
    pub fn list_owner(&self) -> Option<&str> {
        (!self.admin).then_some(self.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_see_only_their_own_records() {
        let caller = Caller::new("agent-7", false);
        assert!(caller.may_access("agent-7"));
        assert!(!caller.may_access("agent-8"));
        assert_eq!(caller.list_owner(), Some("agent-7"));
    }

    #[test]
    fn an_administrator_sees_everything_and_lists_unfiltered() {
        let admin = Caller::new("ops", true);
        assert!(admin.may_access("agent-7"));
        assert_eq!(admin.list_owner(), None);
    }

    #[test]
    fn the_public_caller_owns_nothing() {
        let public = Caller::public();
        assert!(!public.may_access(""));
        assert!(!public.may_access("agent-7"));
    }
}
