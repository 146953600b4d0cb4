//! Secrets Manager: the cursor signing secret, read at cold start and again when a rotation makes
//! it necessary. A secret's `AWSCURRENT` version signs; its `AWSPREVIOUS` version, present after a
//! rotation, still opens what the current one's predecessor signed.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

/// A secret in Secrets Manager.
#[derive(Debug, Clone)]
pub struct ManagedSecret {
    client: Client,
    id: String,
}

impl ManagedSecret {
    /// The secret `id` (an ARN or a name) through the region's Secrets Manager, or `endpoint`'s.
    pub async fn new(id: &str, endpoint: Option<&str>) -> ManagedSecret {
        ManagedSecret {
            client: Client::new(&crate::sdk::config(endpoint).await),
            id: id.to_owned(),
        }
    }

    /// The current version's value, and the previous version's if there is one.
    pub async fn read(&self) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
        let current = self
            .version("AWSCURRENT")
            .await?
            .ok_or_else(|| format!("secret {} has no AWSCURRENT version", self.id))?;
        let previous = self.version("AWSPREVIOUS").await?;
        Ok((current, previous))
    }

    /// The value of the version staged as `stage`; `None` when no version is.
    async fn version(&self, stage: &str) -> Result<Option<Vec<u8>>, String> {
        match self
            .client
            .get_secret_value()
            .secret_id(&self.id)
            .version_stage(stage)
            .send()
            .await
        {
            Ok(output) => Ok(output
                .secret_string()
                .map(|text| text.as_bytes().to_vec())
                .or_else(|| output.secret_binary().map(|blob| blob.as_ref().to_vec()))),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(GetSecretValueError::is_resource_not_found_exception) =>
            {
                Ok(None)
            }
            Err(err) => Err(format!(
                "secret {} ({stage}): {}",
                self.id,
                DisplayErrorContext(err)
            )),
        }
    }
}
