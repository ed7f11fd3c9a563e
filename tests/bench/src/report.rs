//! The report: a Markdown table and JSON, medians with min and max, ratios to the best.

use std::path::Path;

use serde::Serialize;

#[derive(Serialize)]
pub struct Figure {
    pub name: String,
    /// Why the contender has no figure (its correctness check failed, it crashed).
    pub failed: Option<String>,
    pub seconds: Vec<f64>,
    pub peak_rss_kb: Vec<u64>,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

impl Figure {
    pub fn failed(name: &str, why: String) -> Figure {
        Figure {
            name: name.into(),
            failed: Some(why),
            seconds: vec![],
            peak_rss_kb: vec![],
        }
    }

    pub fn measured(name: &str, seconds: Vec<f64>, peak_rss_kb: Vec<u64>) -> Figure {
        Figure {
            name: name.into(),
            failed: None,
            seconds,
            peak_rss_kb,
        }
    }

    pub fn median(&self) -> f64 {
        median(&self.seconds)
    }
}

#[derive(Serialize)]
pub struct Scenario {
    pub title: String,
    pub messages: usize,
    pub bytes: u64,
    pub median_size: usize,
    pub max_size: usize,
    pub figures: Vec<Figure>,
}

#[derive(Serialize)]
pub struct Report {
    pub machine: String,
    /// The built app's files (dist/): name, raw bytes, gzipped bytes.
    pub app: Vec<(String, u64, u64)>,
    pub runs: usize,
    pub size_profile: &'static str,
    pub scenarios: Vec<Scenario>,
}

impl Report {
    pub fn new(runs: usize) -> Report {
        Report {
            machine: String::new(),
            app: Vec::new(),
            runs,
            size_profile: crate::mailbox::PROFILE,
            scenarios: Vec::new(),
        }
    }

    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# Postino benchmark\n\nMachine: {}. Each figure is the median of {} run(s), with min and max; \
             wall time and peak RSS of the whole process. Mailbox: {}.\n",
            self.machine, self.runs, self.size_profile
        );
        for s in &self.scenarios {
            let best = s
                .figures
                .iter()
                .filter(|f| f.failed.is_none())
                .map(Figure::median)
                .fold(f64::INFINITY, f64::min);
            md.push_str(&format!(
                "\n## {}\n\n{} messages, {:.1} MB, median {:.1} KB, largest {:.1} MB.\n\n\
                 | contender | median s | min–max s | MB/s | messages/s | peak RSS MB | × best |\n\
                 |---|---:|---:|---:|---:|---:|---:|\n",
                s.title,
                s.messages,
                s.bytes as f64 / 1e6,
                s.median_size as f64 / 1e3,
                s.max_size as f64 / 1e6
            ));
            for f in &s.figures {
                if let Some(why) = &f.failed {
                    md.push_str(&format!(
                        "| {} | failed: {} | | | | | |\n",
                        f.name,
                        why.replace('|', "/")
                    ));
                    continue;
                }
                let m = f.median();
                let min = f.seconds.iter().copied().fold(f64::INFINITY, f64::min);
                let max = f.seconds.iter().copied().fold(0.0, f64::max);
                let rss = f.peak_rss_kb.iter().copied().max().unwrap_or(0);
                md.push_str(&format!(
                    "| {} | {m:.2} | {min:.2}–{max:.2} | {:.1} | {:.0} | {:.0} | {:.2} |\n",
                    f.name,
                    s.bytes as f64 / 1e6 / m,
                    s.messages as f64 / m,
                    rss as f64 / 1024.0,
                    m / best
                ));
            }
        }
        if !self.app.is_empty() {
            md.push_str(
                "\n## App size (dist/)\n\n| file | raw KB | gzipped KB |\n|---|---:|---:|\n",
            );
            for (name, raw, gz) in &self.app {
                md.push_str(&format!(
                    "| {name} | {:.0} | {:.0} |\n",
                    *raw as f64 / 1024.0,
                    *gz as f64 / 1024.0
                ));
            }
        }
        md
    }

    pub fn write(&self, dir: &Path) -> Result<(), String> {
        std::fs::write(dir.join("report.md"), self.markdown()).map_err(|e| e.to_string())?;
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("report.json"), json).map_err(|e| e.to_string())
    }
}
