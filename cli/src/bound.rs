//! The binary's [`Extension`] bound to its parsed settings, behind a type-erased handle
//! ([`BoundExtension`], a field of `Settings`), so every command reaches the definitions and the
//! extra API routes through `app` without being generic over the extension.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use orch_extension::{ApiRoutes, Context, Extension, ExtensionError, ObjectStores};
use orchestrator::definitions::Definitions;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The hooks `app` calls, without the extension's types.
trait Hooks: Send + Sync {
    fn definitions<'a>(
        &'a self,
        orch_home: &'a Path,
        stores: &'a ObjectStores,
    ) -> BoxFuture<'a, Result<Definitions, ExtensionError>>;

    fn api_routes<'a>(
        &'a self,
        orch_home: &'a Path,
        stores: &'a ObjectStores,
    ) -> BoxFuture<'a, Result<ApiRoutes, ExtensionError>>;
}

/// An extension with its settings.
struct Bound<E: Extension> {
    extension: Arc<E>,
    settings: E::Settings,
}

impl<E: Extension> Hooks for Bound<E> {
    fn definitions<'a>(
        &'a self,
        orch_home: &'a Path,
        stores: &'a ObjectStores,
    ) -> BoxFuture<'a, Result<Definitions, ExtensionError>> {
        Box::pin(async move {
            let cx = Context {
                settings: &self.settings,
                orch_home,
                stores,
            };
            self.extension.definitions(&cx).await
        })
    }

    fn api_routes<'a>(
        &'a self,
        orch_home: &'a Path,
        stores: &'a ObjectStores,
    ) -> BoxFuture<'a, Result<ApiRoutes, ExtensionError>> {
        Box::pin(async move {
            let cx = Context {
                settings: &self.settings,
                orch_home,
                stores,
            };
            self.extension.api_routes(&cx).await
        })
    }
}

/// The binary's extension with its settings; the default (settings parsed outside
/// `orch::Orch`) has no definitions and says so.
#[derive(Clone, Default)]
pub struct BoundExtension(Option<Arc<dyn Hooks>>);

impl fmt::Debug for BoundExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "BoundExtension(bound)"
        } else {
            "BoundExtension(none)"
        })
    }
}

impl BoundExtension {
    pub fn new<E: Extension>(extension: Arc<E>, settings: E::Settings) -> Self {
        Self(Some(Arc::new(Bound {
            extension,
            settings,
        })))
    }

    fn hooks(&self) -> Result<&dyn Hooks, ExtensionError> {
        self.0.as_deref().ok_or_else(|| {
            ExtensionError::usage("this binary was built without job definitions (orch::Orch)")
        })
    }

    pub async fn definitions(
        &self,
        orch_home: &Path,
        stores: &ObjectStores,
    ) -> Result<Definitions, ExtensionError> {
        self.hooks()?.definitions(orch_home, stores).await
    }

    pub async fn api_routes(
        &self,
        orch_home: &Path,
        stores: &ObjectStores,
    ) -> Result<ApiRoutes, ExtensionError> {
        self.hooks()?.api_routes(orch_home, stores).await
    }
}
