//! The Kubernetes API client: from the kubeconfig (`KUBECONFIG` or `~/.kube/config`) or, in a
//! pod, the in-cluster service account, as kube-rs infers it; or from an explicit URL (tests).

use kube::{Client, Config};

/// Where the API server is.
#[derive(Debug, Clone)]
pub enum ClusterAccess {
    /// kube-rs's inference: kubeconfig first, then the in-cluster service account.
    Infer,
    /// A plain URL without credentials, e.g. a stand-in API server on loopback.
    Url(String),
}

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot find the Kubernetes API: {0} (set KUBECONFIG, or run in a pod with a service account)"
    )]
    Infer(#[from] kube::config::InferConfigError),
    #[error("'{url}' is not a Kubernetes API URL: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot build the Kubernetes client: {0}")]
    Build(#[from] kube::Error),
}

/// Builds a client.
pub async fn connect(access: &ClusterAccess) -> Result<Client, ClientError> {
    let config = match access {
        ClusterAccess::Infer => Config::infer().await?,
        ClusterAccess::Url(url) => {
            let uri = url
                .parse()
                .map_err(|e: http::uri::InvalidUri| ClientError::Url {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
            Config::new(uri)
        }
    };
    Ok(Client::try_from(config)?)
}
