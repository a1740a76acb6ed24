//! Render speed: every upstream example in one process (parse + validate + render), and whole
//! `dynamoctl render` processes on the largest example. Run with `cargo bench --bench render`;
//! figures go to docs/benchmarks.md.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use dynamoctl::manifest::{self, Object};
use dynamoctl::render::{RenderOptions, render_all};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream");
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            inputs.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    inputs.sort();

    // In-process: parse, validate and render every example that renders (multinode ones stop
    // at their error), counting graphs.
    let mut graphs = 0usize;
    let run = || {
        let mut n = 0;
        for (name, text) in &inputs {
            let parsed = manifest::parse(name, text, "default").unwrap();
            let objects: Vec<Object> = parsed.manifests.into_iter().map(|m| m.object).collect();
            n += objects
                .iter()
                .filter(|o| matches!(o, Object::Graph(_)))
                .count();
            let _ = std::hint::black_box(render_all(&objects, &RenderOptions::default()));
        }
        n
    };
    for _ in 0..5 {
        graphs = run();
    }
    let mut samples = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        run();
        samples.push(start.elapsed());
    }
    let m = median(samples);
    println!(
        "in-process: {} files, {graphs} graphs: median {:.2?} per pass, {:.1} µs per graph",
        inputs.len(),
        m,
        m.as_secs_f64() * 1e6 / graphs as f64
    );

    // Render only (the controller's per-reconcile cost): graphs already parsed.
    let parsed: Vec<Vec<Object>> = inputs
        .iter()
        .map(|(name, text)| {
            manifest::parse(name, text, "default")
                .unwrap()
                .manifests
                .into_iter()
                .map(|m| m.object)
                .collect()
        })
        .collect();
    let mut samples = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        for objects in &parsed {
            let _ = std::hint::black_box(render_all(objects, &RenderOptions::default()));
        }
        samples.push(start.elapsed());
    }
    let m = median(samples);
    println!(
        "render only: median {:.2?} per pass, {:.1} µs per graph",
        m,
        m.as_secs_f64() * 1e6 / graphs as f64
    );

    // Multinode graphs under each orchestrator, render only (tests/render_multinode.rs's
    // fixtures: the 0.8.0 multinode examples and the newer recipes).
    let mut multinode: Vec<Vec<Object>> = Vec::new();
    for d in ["tests/fixtures/upstream", "tests/fixtures/multinode"] {
        let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(d);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            if !text.contains("nodeCount") {
                continue;
            }
            let name = path.display().to_string();
            let parsed = manifest::parse(&name, &text, "default").unwrap();
            multinode.push(parsed.manifests.into_iter().map(|m| m.object).collect());
        }
    }
    for (label, grove) in [("Grove", true), ("LWS", false)] {
        let opts = RenderOptions {
            orchestrators: dynamoctl::render::Orchestrators {
                grove,
                lws: !grove,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut samples = Vec::new();
        for _ in 0..200 {
            let start = Instant::now();
            for objects in &multinode {
                let out = render_all(objects, &opts).expect("multinode graphs render");
                std::hint::black_box(out);
            }
            samples.push(start.elapsed());
        }
        let m = median(samples);
        println!(
            "multinode render only, {label}: {} graphs: median {:.2?} per pass, {:.1} µs per graph",
            multinode.len(),
            m,
            m.as_secs_f64() * 1e6 / multinode.len() as f64
        );
    }

    // Whole processes on the largest example that renders.
    let largest = "recipes__qwen3-32b__vllm__disagg-kv-router__deploy.yaml";
    let exe = env!("CARGO_BIN_EXE_dynamoctl");
    let mut samples = Vec::new();
    for i in 0..60 {
        let start = Instant::now();
        let out = Command::new(exe)
            .current_dir(&dir)
            .args(["render", largest])
            .output()
            .unwrap();
        assert!(out.status.success());
        if i >= 10 {
            samples.push(start.elapsed());
        }
    }
    println!(
        "process: dynamoctl render {largest}: median {:.2?} wall over 50 runs",
        median(samples)
    );
}
