//! Job files at scale: generates a job file of N command assets (a wide, deep DAG: layers of
//! 50, asset i of a layer depending on asset i of the layer above, like `command-overhead
//! wide`) and times loading it as the binary does (read, parse, validate, build the graph,
//! merge into the definitions).
//! Usage: `jobfile-scale generate <dir> [assets]` | `jobfile-scale load <dir> [iterations]`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use orchestrator::definitions::Definitions;
use orchestrator::jobfile::{self, JobsDir};

const WIDTH: usize = 50;

fn generate(dir: &Path, n: usize) -> anyhow::Result<PathBuf> {
    let mut text = String::from(
        "name = \"wide_job\"\ndescription = \"Generated: command assets in layers of 50\"\n",
    );
    for i in 0..n {
        write!(
            text,
            "\n[[assets]]\nname = \"a{i}\"\ncommand = [\"true\"]\n"
        )?;
        if i >= WIDTH {
            writeln!(text, "upstream = [\"a{}\"]", i - WIDTH)?;
        }
    }
    std::fs::create_dir_all(dir)?;
    let path = dir.join("wide_job.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn load(dir: &Path, iterations: usize) -> anyhow::Result<()> {
    let jobs = JobsDir {
        path: dir.to_path_buf(),
        required: true,
    };
    let compiled = Definitions::default();
    let mut ms = Vec::with_capacity(iterations);
    let mut assets = 0;
    for _ in 0..iterations {
        let started = Instant::now();
        let files = jobfile::load_dir(&jobs).map_err(|e| anyhow::anyhow!("{e}"))?;
        let definitions = jobfile::merge(&compiled, &files).map_err(|e| anyhow::anyhow!("{e}"))?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assets = definitions.jobs().iter().map(|j| j.assets().len()).sum();
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "load {assets} assets from {}: median {:.1} ms, p99 {:.1} ms, max {:.1} ms over {iterations}",
        dir.display(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let usage = "usage: jobfile-scale generate <dir> [assets] | load <dir> [iterations]";
    let mut args = std::env::args().skip(1);
    let verb = args.next().context(usage)?;
    let dir = PathBuf::from(args.next().context(usage)?);
    let n: Option<usize> = args.next().map(|n| n.parse()).transpose()?;
    match verb.as_str() {
        "generate" => {
            let path = generate(&dir, n.unwrap_or(1000))?;
            println!("{}", path.display());
        }
        "load" => load(&dir, n.unwrap_or(100))?,
        other => anyhow::bail!("unknown verb {other:?}; {usage}"),
    }
    Ok(())
}
