//! The report: a Markdown table and JSON, medians with min and max, ratios to the best (the
//! downloads) or to a reference contender (the relay's and the app's tables).

use std::path::Path;

use serde::Serialize;

#[derive(Serialize)]
pub struct Figure {
    pub name: String,
    /// Why the contender has no figure (its correctness check failed, it crashed).
    pub failed: Option<String>,
    pub seconds: Vec<f64>,
    pub peak_rss_kb: Vec<u64>,
    /// What a self-timing contender (the app in Chromium) printed, one object per run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<serde_json::Value>,
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
            details: vec![],
        }
    }

    pub fn measured(name: &str, seconds: Vec<f64>, peak_rss_kb: Vec<u64>) -> Figure {
        Figure {
            name: name.into(),
            failed: None,
            seconds,
            peak_rss_kb,
            details: vec![],
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
    /// Why the scenario has no comparison at all. No run sets it since the floor runs with
    /// every download contender; kept so that report.json keeps its shape.
    pub failed: Option<String>,
    pub figures: Vec<Figure>,
}

impl Scenario {
    /// The app contenders' figures during the download (tests/bench/browser.mjs), or `None`
    /// when no contender printed them.
    pub fn during(&self) -> Option<Table> {
        let apps: Vec<&Figure> = self
            .figures
            .iter()
            .filter(|f| !f.details.is_empty())
            .collect();
        if apps.is_empty() {
            return None;
        }
        let mut table = Table::new(&format!("App during the download: {}", self.title), None);
        table.notes.push(
            "Goals: no main-thread task over 50 ms; a stored message opens in under 100 ms. \
             Open: from the click's time stamp to the reader showing that message and a frame \
             later, several tries during each download (median and max of each run's tries). \
             Memory: peak of samples every 500 ms (JS heap used of page and engine worker, \
             wasm memories of both); the total is the peak of each sample's sum."
                .into(),
        );
        const QUANTITIES: [(&str, &str, &[&str]); 9] = [
            ("longest main-thread task", "ms", &["longest_task_ms"]),
            ("main-thread tasks over 50 ms", "count", &["long_tasks"]),
            ("open a message, median", "ms", &["open_ms", "median"]),
            ("open a message, max", "ms", &["open_ms", "max"]),
            ("peak memory, total", "MB", &["peak_memory_mb", "total"]),
            (
                "peak memory, page JS heap",
                "MB",
                &["peak_memory_mb", "page_js_heap"],
            ),
            (
                "peak memory, page wasm",
                "MB",
                &["peak_memory_mb", "page_wasm"],
            ),
            (
                "peak memory, worker JS heap",
                "MB",
                &["peak_memory_mb", "worker_js_heap"],
            ),
            (
                "peak memory, worker wasm",
                "MB",
                &["peak_memory_mb", "worker_wasm"],
            ),
        ];
        for f in &apps {
            for (quantity, unit, path) in QUANTITIES {
                let mut m = Measure::new(quantity, unit, &f.name);
                for (nth, run) in f.details.iter().enumerate() {
                    let v = path.iter().fold(run, |v, k| &v[*k]);
                    match v.as_f64() {
                        Some(x) => m.values.push(x),
                        None => {
                            m.failed = Some(format!("run {}: not measured", nth + 1));
                            break;
                        }
                    }
                }
                table.measures.push(m);
            }
            for (nth, run) in f.details.iter().enumerate() {
                for e in run["errors"].as_array().into_iter().flatten() {
                    table.warnings.push(format!(
                        "{}, run {}: {}",
                        f.name,
                        nth + 1,
                        e.as_str().unwrap_or("?")
                    ));
                }
            }
        }
        table.finish();
        Some(table)
    }
}

/// One quantity of one contender, in its own unit, over several runs.
#[derive(Serialize)]
pub struct Measure {
    pub quantity: String,
    pub unit: String,
    pub contender: String,
    /// Why there is no figure (a correctness check failed, a part of the app is missing).
    pub failed: Option<String>,
    pub values: Vec<f64>,
    pub median: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The median over the reference contender's median for the same quantity.
    pub ratio: Option<f64>,
}

impl Measure {
    pub fn new(quantity: &str, unit: &str, contender: &str) -> Measure {
        Measure {
            quantity: quantity.into(),
            unit: unit.into(),
            contender: contender.into(),
            failed: None,
            values: Vec::new(),
            median: None,
            min: None,
            max: None,
            ratio: None,
        }
    }
}

/// A scenario measured in other units than a download's seconds: the relay, the app.
#[derive(Serialize)]
pub struct Table {
    pub title: String,
    /// Why the scenario has no figures at all (its program could not run).
    pub failed: Option<String>,
    /// The contender the ratios are to.
    pub reference: Option<String>,
    /// What was measured and how (sizes, counts), from the last run.
    pub notes: Vec<String>,
    /// Faults seen that are not figures (a route that drops data at a close), from every run.
    pub warnings: Vec<String>,
    /// Items of the app's contract (tests/bench/app.mjs) the app lacked.
    pub missing: Vec<String>,
    pub measures: Vec<Measure>,
}

impl Table {
    pub fn new(title: &str, reference: Option<&str>) -> Table {
        Table {
            title: title.into(),
            failed: None,
            reference: reference.map(String::from),
            notes: Vec::new(),
            warnings: Vec::new(),
            missing: Vec::new(),
            measures: Vec::new(),
        }
    }

    pub fn failed(title: &str, why: String) -> Table {
        Table {
            failed: Some(why),
            ..Table::new(title, None)
        }
    }

    /// Medians, min, max and ratios, once every run's values are in; the contenders of one
    /// quantity together, quantities in the order they came.
    pub fn finish(&mut self) {
        let mut quantities: Vec<String> = Vec::new();
        for m in &self.measures {
            if !quantities.contains(&m.quantity) {
                quantities.push(m.quantity.clone());
            }
        }
        self.measures
            .sort_by_key(|m| quantities.iter().position(|q| *q == m.quantity));
        for m in &mut self.measures {
            if m.failed.is_some() || m.values.is_empty() {
                m.values.clear();
                continue;
            }
            m.median = Some(median(&m.values));
            m.min = m.values.iter().copied().reduce(f64::min);
            m.max = m.values.iter().copied().reduce(f64::max);
        }
        let Some(reference) = &self.reference else {
            return;
        };
        let medians: Vec<Option<f64>> = self
            .measures
            .iter()
            .map(|m| {
                self.measures
                    .iter()
                    .find(|r| r.quantity == m.quantity && &r.contender == reference)
                    .and_then(|r| r.median)
            })
            .collect();
        for (m, r) in self.measures.iter_mut().zip(medians) {
            m.ratio = m.median.zip(r).map(|(m, r)| m / r);
        }
    }

    fn markdown(&self, md: &mut String) {
        md.push_str(&format!("\n## {}\n\n", self.title));
        if let Some(why) = &self.failed {
            md.push_str(&format!("Failed: {why}\n"));
            return;
        }
        for note in &self.notes {
            md.push_str(&format!("- {note}\n"));
        }
        for warning in &self.warnings {
            md.push_str(&format!("- **Warning:** {warning}\n"));
        }
        if !self.missing.is_empty() {
            md.push_str(&format!(
                "- **The app lacks:** {}\n",
                self.missing.join("; ")
            ));
        }
        let ratio = self
            .reference
            .as_ref()
            .map_or(String::new(), |r| format!(" × {r} |"));
        md.push_str(&format!(
            "\n| quantity | contender | median | min–max | unit |{ratio}\n\
             |---|---|---:|---:|---|{}\n",
            if ratio.is_empty() { "" } else { "---:|" }
        ));
        for m in &self.measures {
            let cells = match (&m.failed, m.median, m.min, m.max) {
                (None, Some(median), Some(min), Some(max)) => format!(
                    "{} | {}–{} | {} |{}",
                    number(median),
                    number(min),
                    number(max),
                    m.unit,
                    if ratio.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " {} |",
                            m.ratio.map_or(String::new(), |r| format!("{r:.2}"))
                        )
                    }
                ),
                (failed, ..) => format!(
                    "failed: {} | | |{}",
                    failed.as_deref().unwrap_or("no figure").replace('|', "/"),
                    if ratio.is_empty() { "" } else { " |" }
                ),
            };
            md.push_str(&format!("| {} | {} | {cells}\n", m.quantity, m.contender));
        }
    }
}

/// Three significant figures or so; whole numbers as they are.
fn number(v: f64) -> String {
    if v.fract() == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[derive(Serialize)]
pub struct Report {
    pub machine: String,
    /// The built app's files (dist/): name, raw bytes, gzipped bytes.
    pub app: Vec<(String, u64, u64)>,
    pub runs: usize,
    pub size_profile: &'static str,
    pub scenarios: Vec<Scenario>,
    /// The relay and the app (issue 8, scenarios 3 and 4).
    pub tables: Vec<Table>,
}

impl Report {
    pub fn new(runs: usize) -> Report {
        Report {
            machine: String::new(),
            app: Vec::new(),
            runs,
            size_profile: crate::mailbox::PROFILE,
            scenarios: Vec::new(),
            tables: Vec::new(),
        }
    }

    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# Postino benchmark\n\nMachine: {}. Each figure is the median of {} run(s), with min and max; \
             wall time and peak RSS of the whole process. Mailbox: {}.\n",
            self.machine, self.runs, self.size_profile
        );
        for s in &self.scenarios {
            if let Some(why) = &s.failed {
                md.push_str(&format!("\n## {}\n\nFailed: {why}\n", s.title));
                continue;
            }
            let floor = s
                .figures
                .iter()
                .find(|f| f.name == crate::children::FLOOR && f.failed.is_none())
                .map(Figure::median);
            let best = s
                .figures
                .iter()
                .filter(|f| f.failed.is_none())
                .map(Figure::median)
                .fold(f64::INFINITY, f64::min);
            md.push_str(&format!(
                "\n## {}\n\n{} messages, {:.1} MB, median {:.1} KB, largest {:.1} MB.\n\n\
                 | contender | median s | min–max s | MB/s | messages/s | peak RSS MB | × best | × floor |\n\
                 |---|---:|---:|---:|---:|---:|---:|---:|\n",
                s.title,
                s.messages,
                s.bytes as f64 / 1e6,
                s.median_size as f64 / 1e3,
                s.max_size as f64 / 1e6
            ));
            for f in &s.figures {
                if let Some(why) = &f.failed {
                    md.push_str(&format!(
                        "| {} | failed: {} | | | | | | |\n",
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
                    "| {} | {m:.2} | {min:.2}–{max:.2} | {:.1} | {:.0} | {:.0} | {:.2} | {} |\n",
                    f.name,
                    s.bytes as f64 / 1e6 / m,
                    s.messages as f64 / m,
                    rss as f64 / 1024.0,
                    m / best,
                    floor.map_or("floor failed".into(), |fl| format!("{:.2}", m / fl))
                ));
            }
            if let Some(t) = s.during() {
                t.markdown(&mut md);
            }
        }
        for t in &self.tables {
            t.markdown(&mut md);
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
            let (raw, gz) = self
                .app
                .iter()
                .fold((0, 0), |(r, g), (_, raw, gz)| (r + raw, g + gz));
            md.push_str(&format!(
                "| all wasm and JS | {:.0} | {:.0} |\n",
                raw as f64 / 1024.0,
                gz as f64 / 1024.0
            ));
        }
        md
    }

    pub fn write(&self, dir: &Path) -> Result<(), String> {
        std::fs::write(dir.join("report.md"), self.markdown()).map_err(|e| e.to_string())?;
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("report.json"), json).map_err(|e| e.to_string())
    }
}
