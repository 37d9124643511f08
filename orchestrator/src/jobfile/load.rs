//! Reading job files from disk: one file, or every `*.toml` of a directory (in name order),
//! and merging their jobs and schedules into the compiled-in [`Definitions`], refusing a name
//! used twice with the place of the second use. Every fault of every file is collected.

use std::path::{Path, PathBuf};

use super::build::build;
use super::error::{Fault, JobFileError, JobFileErrors, Position};
use super::parse::parse;
use super::validate::{JobSpec, validate};
use crate::definitions::{Definitions, JobDef, ScheduleDef};

/// A job file, checked and built.
#[derive(Debug, Clone)]
pub struct JobFile {
    pub path: PathBuf,
    /// The typed contents, checks included (those without a command have no definition).
    pub spec: JobSpec,
    pub job: JobDef,
    pub schedules: Vec<ScheduleDef>,
}

/// Where job files are looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsDir {
    pub path: PathBuf,
    /// Named by the operator (`ORCH_JOBS_DIR`, `[jobs] dir`): it must exist. The default
    /// (`$ORCH_HOME/jobs`) may be absent: no job files.
    pub required: bool,
}

/// Checks the job file `text`, read from `path`.
pub fn parse_file(path: &Path, text: &str) -> Result<JobFile, JobFileErrors> {
    let located = |faults: Vec<(Position, Fault)>| {
        JobFileErrors(
            faults
                .into_iter()
                .map(|(at, fault)| JobFileError {
                    path: path.to_path_buf(),
                    at: Some(at),
                    fault,
                })
                .collect(),
        )
    };
    let raw = parse(text).map_err(|fault| located(vec![fault]))?;
    let dir = directory_of(path);
    let spec = validate(raw, text, &dir).map_err(located)?;
    let (job, schedules) = build(&spec).map_err(located)?;
    Ok(JobFile {
        path: path.to_path_buf(),
        spec,
        job,
        schedules,
    })
}

/// The absolute directory of `path`: where its commands run.
fn directory_of(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new("."));
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

/// Reads and checks one file.
pub fn load_file(path: &Path) -> Result<JobFile, JobFileErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, &e))?;
    parse_file(path, &text)
}

/// Every job file of `dir` (its `*.toml` files, hidden ones skipped), in name order; names
/// used twice across files are refused here.
pub fn load_dir(dir: &JobsDir) -> Result<Vec<JobFile>, JobFileErrors> {
    let entries = match std::fs::read_dir(&dir.path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.required => {
            return Ok(Vec::new());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(single(
                &dir.path,
                Fault::Io("the jobs directory does not exist (create it, or unset ORCH_JOBS_DIR and [jobs] dir)".to_owned()),
            ));
        }
        Err(e) => return Err(io_error(&dir.path, &e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(&dir.path, &e))?;
        let path = entry.path();
        let name = entry.file_name();
        let visible = !name.to_string_lossy().starts_with('.');
        if visible && path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    load_files(&paths)
}

/// `path` as a file, or as a directory of job files (`orch jobs validate PATH`).
pub fn load_path(path: &Path) -> Result<Vec<JobFile>, JobFileErrors> {
    if path.is_dir() {
        load_dir(&JobsDir {
            path: path.to_path_buf(),
            required: true,
        })
    } else {
        load_files(&[path.to_path_buf()])
    }
}

fn load_files(paths: &[PathBuf]) -> Result<Vec<JobFile>, JobFileErrors> {
    let mut files = Vec::new();
    let mut faults = Vec::new();
    for path in paths {
        match load_file(path) {
            Ok(file) => files.push(file),
            Err(JobFileErrors(errors)) => faults.extend(errors),
        }
    }
    if faults.is_empty() {
        Ok(files)
    } else {
        Err(JobFileErrors(faults))
    }
}

/// The compiled-in definitions with the files' jobs and schedules added. A job or schedule
/// name already taken (compiled in, or by an earlier file) is a fault at the later name.
pub fn merge(compiled: &Definitions, files: &[JobFile]) -> Result<Definitions, JobFileErrors> {
    let mut faults = Vec::new();
    let mut jobs: Vec<JobDef> = compiled.jobs().to_vec();
    let mut schedules: Vec<ScheduleDef> = compiled.schedules().to_vec();
    let mut job_origin: Vec<(String, Option<&Path>)> =
        jobs.iter().map(|j| (j.name.to_string(), None)).collect();
    let mut schedule_origin: Vec<(String, Option<&Path>)> = schedules
        .iter()
        .map(|s| (s.name.to_string(), None))
        .collect();
    for file in files {
        let name = file.job.name.to_string();
        if let Some((_, origin)) = job_origin.iter().find(|(n, _)| *n == name) {
            faults.push(JobFileError {
                path: file.path.clone(),
                at: Some(file.spec.name_at),
                fault: Fault::DuplicateJob {
                    job: name,
                    elsewhere: elsewhere(*origin),
                },
            });
            continue;
        }
        job_origin.push((name, Some(&file.path)));
        jobs.push(file.job.clone());
        for (spec, def) in file.spec.schedules.iter().zip(&file.schedules) {
            let name = def.name.to_string();
            if let Some((_, origin)) = schedule_origin.iter().find(|(n, _)| *n == name) {
                let fault = Fault::DuplicateSchedule {
                    schedule: name,
                    elsewhere: elsewhere(*origin),
                };
                faults.push(JobFileError {
                    path: file.path.clone(),
                    at: Some(spec.at),
                    fault,
                });
                continue;
            }
            schedule_origin.push((name, Some(&file.path)));
            schedules.push(def.clone());
        }
    }
    if !faults.is_empty() {
        return Err(JobFileErrors(faults));
    }
    // Names were checked above; what is left (a schedule's job) cannot fail for file jobs.
    Definitions::new(jobs)
        .and_then(|d| d.with_schedules(schedules))
        .and_then(|d| d.with_sensors(compiled.sensors().to_vec()))
        .map_err(|e| {
            let path = files.first().map(|f| f.path.clone()).unwrap_or_default();
            single(&path, Fault::Definition(e))
        })
}

fn elsewhere(origin: Option<&Path>) -> String {
    match origin {
        Some(path) => format!("in {}", path.display()),
        None => "in this build of orch (a compiled-in job)".to_owned(),
    }
}

fn single(path: &Path, fault: Fault) -> JobFileErrors {
    JobFileErrors(vec![JobFileError {
        path: path.to_path_buf(),
        at: None,
        fault,
    }])
}

fn io_error(path: &Path, e: &std::io::Error) -> JobFileErrors {
    single(path, Fault::Io(format!("cannot read it: {e}")))
}
