//! Micro benchmarks of the per-line hot path: splitting, rendering, filtering.
//!
//! `cargo bench --bench hot_path`. The whole-program comparison with `tail -F` and `socat` is
//! `benches/compare.py`.

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mux_tail::filter::Filters;
use mux_tail::line::Arrival;
use mux_tail::line::{Batch, Splitter};
use mux_tail::render::{Layout, Renderer, Style};

/// 64 KiB of ~100-byte log lines.
fn chunk() -> Vec<u8> {
    let mut data = Vec::new();
    let mut i = 0;
    while data.len() < 64 * 1024 - 128 {
        let line = format!(
            "2026-11-26T13:45:12.{:03}Z INFO worker={} request id={:08x} path=/api/v1/items status=200\n",
            i % 1000,
            i % 16,
            i * 7919
        );
        data.extend_from_slice(line.as_bytes());
        i += 1;
    }
    data
}

fn batch() -> Batch {
    let mut s = Splitter::new(1 << 20);
    s.push(&chunk());
    s.take_batch().unwrap()
}

fn split(c: &mut Criterion) {
    let data = chunk();
    let mut g = c.benchmark_group("split");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("64KiB of 100-byte lines", |b| {
        b.iter(|| {
            let mut s = Splitter::new(1 << 20);
            s.push(black_box(&data));
            black_box(s.take_batch())
        })
    });
    g.finish();
}

fn render(c: &mut Criterion) {
    let lines = Arrival { batch: batch(), peer: None, time: SystemTime::now(), stream: None };
    let mut g = c.benchmark_group("render");
    g.throughput(Throughput::Elements(lines.batch.len() as u64));
    let cases = [
        (
            "plain (pipe)",
            Style { label: true, color: false, terminal: false },
            Layout::Default { timestamps: false },
        ),
        (
            "coloured, escaped (terminal)",
            Style { label: true, color: true, terminal: true },
            Layout::Default { timestamps: false },
        ),
        (
            "timestamps",
            Style { label: true, color: false, terminal: false },
            Layout::Default { timestamps: true },
        ),
        ("json", Style { label: true, color: false, terminal: false }, Layout::Json),
    ];
    for (name, style, layout) in cases {
        let mut r = Renderer::new(style, layout, None);
        r.add_source(0, "api", "app.log");
        r.add_source(1, "worker-longer", "worker.log");
        let mut out = Vec::with_capacity(256 * 1024);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                r.render(0, black_box(&lines), &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn filter(c: &mut Criterion) {
    let base = batch();
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(base.len() as u64));
    let cases = [
        ("-e status=500", vec!["status=500".to_string()], vec![]),
        ("-e a -e b -v c", vec!["worker=3".into(), "id=0000".into()], vec!["path=/health".into()]),
    ];
    for (name, keep, drop) in cases {
        let f = Filters::new(&keep, &drop, false, Default::default()).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut batch = base.clone();
                f.apply(&mut batch);
                black_box(batch.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, split, render, filter);
criterion_main!(benches);
