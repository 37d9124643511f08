//! `orch products list | download | summary`: the bastion's view of the weather products
//! (`WEATHER_RESULTS_BUCKET` through the standard AWS credential chain — environment, profile,
//! web identity, instance role — or ORCH_HOME/objects without a bucket), as the seed's
//! `fetch-products.sh --list | --download | --summary` did. Reads only: no store, no migration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::SecondsFormat;
use orch_extension::ExtensionError;
use orchestrator::definitions::{ObjectInfo, ObjectStore};
use serde_json::{Value, json};

use crate::weather::products::{
    self as catalog, PRODUCTS_PREFIX, ProductError, ProductKey, ProductSummary, count_records,
};

/// `orch products …`.
#[derive(Debug, clap::Subcommand)]
pub enum ProductsCommand {
    /// List the products, newest first: last modified, size, key.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Download the products not yet in a folder (DIR/<key>).
    Download(DownloadArgs),
    /// Files, total size, the latest product and the total number of records.
    Summary {
        #[arg(long)]
        json: bool,
    },
}

/// Runs `command` over the products in `store`.
pub async fn run(
    command: &ProductsCommand,
    store: &dyn ObjectStore,
) -> Result<ExitCode, ExtensionError> {
    match command {
        ProductsCommand::List { json } => list(store, *json).await,
        ProductsCommand::Download(args) => download(store, args).await,
        ProductsCommand::Summary { json } => summary(store, *json).await,
    }
}

/// Arguments of `orch products download`.
#[derive(Debug, Clone, clap::Args)]
pub struct DownloadArgs {
    /// The folder to download into; each product lands at DIR/<key>. Files already there with
    /// the same size are skipped, so a second run fetches only new products.
    #[arg(long = "to", value_name = "DIR", default_value = "products")]
    pub to: PathBuf,
}

fn store_error(e: ProductError) -> ExtensionError {
    ExtensionError::failure(e)
}

fn info_json(p: &ObjectInfo) -> Value {
    json!({ "key": p.key, "size_bytes": p.size_bytes, "last_modified": p.last_modified })
}

fn stamp(p: &ObjectInfo) -> String {
    p.last_modified.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `orch products list [--json]`: every product, newest first.
async fn list(store: &dyn ObjectStore, as_json: bool) -> Result<ExitCode, ExtensionError> {
    let products = catalog::list_products(store).await.map_err(store_error)?;
    if as_json {
        let items: Vec<Value> = products.iter().map(info_json).collect();
        println!("{}", Value::Array(items));
        return Ok(ExitCode::SUCCESS);
    }
    if products.is_empty() {
        eprintln!("no products in {}", store.uri_of(PRODUCTS_PREFIX));
    }
    let width = products
        .iter()
        .map(|p| p.size_bytes.to_string().len())
        .max()
        .unwrap_or(1);
    for p in &products {
        println!("{}  {:>width$}  {}", stamp(p), p.size_bytes, p.key);
    }
    Ok(ExitCode::SUCCESS)
}

/// `orch products download [--to DIR]`: every product not already there, to DIR/<key>.
async fn download(
    store: &dyn ObjectStore,
    args: &DownloadArgs,
) -> Result<ExitCode, ExtensionError> {
    let products = catalog::list_products(store).await.map_err(store_error)?;
    let (mut fetched, mut skipped) = (0usize, 0usize);
    for p in &products {
        let target = target_path(&args.to, p)?;
        if std::fs::metadata(&target).is_ok_and(|m| m.len() == p.size_bytes) {
            skipped += 1;
            continue;
        }
        let key = ProductKey::parse(&p.key).map_err(store_error)?;
        let body = catalog::read_product(store, &key)
            .await
            .map_err(store_error)?;
        write_file(&target, &body)?;
        println!("{}", target.display());
        fetched += 1;
    }
    eprintln!(
        "downloaded {fetched} product(s), skipped {skipped} already present, from {} into {}",
        store.uri_of(PRODUCTS_PREFIX),
        args.to.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// DIR/<key>, refusing a key that would land outside DIR.
fn target_path(dir: &Path, p: &ObjectInfo) -> Result<PathBuf, ExtensionError> {
    let key = ProductKey::parse(&p.key).map_err(store_error)?;
    Ok(dir.join(key.as_str()))
}

/// Writes `body` to `path` through a temporary file, so an interrupted download leaves no
/// truncated product that a later run would take for complete.
fn write_file(path: &Path, body: &[u8]) -> Result<(), ExtensionError> {
    let fail = |e: std::io::Error| {
        ExtensionError::failure(format!("cannot write {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let partial = path.with_extension("jsonl.partial");
    std::fs::write(&partial, body).map_err(fail)?;
    std::fs::rename(&partial, path).map_err(fail)
}

/// `orch products summary [--json]`: files, total size, the latest product, total records.
async fn summary(store: &dyn ObjectStore, as_json: bool) -> Result<ExitCode, ExtensionError> {
    let products = catalog::list_products(store).await.map_err(store_error)?;
    let records = record_counts(store, &products).await?;
    let summary = ProductSummary::of(&products, &records);
    if as_json {
        println!(
            "{}",
            json!({
                "location": store.uri_of(PRODUCTS_PREFIX),
                "files": summary.files,
                "total_bytes": summary.total_bytes,
                "latest": summary.latest.as_ref().map(info_json),
                "total_records": summary.total_records,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("location:      {}", store.uri_of(PRODUCTS_PREFIX));
    println!("files:         {}", summary.files);
    println!("total size:    {} bytes", summary.total_bytes);
    match &summary.latest {
        Some(latest) => println!(
            "latest:        {} ({}, {} bytes)",
            latest.key,
            stamp(latest),
            latest.size_bytes
        ),
        None => println!("latest:        none"),
    }
    println!("total records: {}", summary.total_records);
    Ok(ExitCode::SUCCESS)
}

/// The records of each product, read one after the other (a bastion summary, not a hot path).
async fn record_counts(
    store: &dyn ObjectStore,
    products: &[ObjectInfo],
) -> Result<Vec<usize>, ExtensionError> {
    let mut counts = Vec::with_capacity(products.len());
    for p in products {
        let key = ProductKey::parse(&p.key).map_err(store_error)?;
        let body = catalog::read_product(store, &key)
            .await
            .map_err(store_error)?;
        counts.push(count_records(&body));
    }
    Ok(counts)
}
