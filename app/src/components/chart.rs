//! Charts (columns, a line, horizontal bars) drawn as SVG on the server, so they show with JavaScript off. Colours come from CSS
//! (`currentColor` and classes), so they follow the theme. Each chart has a table beside it
//! for screen readers and for exact figures.

use crate::api::reports::Bar;
use crate::models::money::money;
use leptos::prelude::*;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 70.0;
const BOTTOM: f64 = 24.0;

/// Vertical bars over time (days of a month, months of a year).
#[component]
pub fn ColumnChart(
    title: String,
    bars: Vec<Bar>,
    currency: String,
    /// Label every n-th bar on the x axis.
    #[prop(default = 1)]
    label_every: usize,
    /// Shorten an x label (e.g. `2026-03-14` to `14`).
    short: fn(&str) -> String,
) -> impl IntoView {
    let max = bars.iter().map(|b| b.total_minor).max().unwrap_or(0).max(1);
    let slot = (WIDTH - LEFT) / bars.len().max(1) as f64;
    let plot = HEIGHT - BOTTOM;
    let columns = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let h = plot * b.total_minor as f64 / max as f64;
            let x = LEFT + i as f64 * slot;
            let label = (i % label_every == 0).then(|| {
                view! { <text x=x + slot / 2.0 y=HEIGHT - 6.0 text-anchor="middle" class="axis">{short(&b.label)}</text> }
            });
            view! {
                <rect x=x + slot * 0.15 y=plot - h width=slot * 0.7 height=h class="bar">
                    <title>{format!("{}: {}", b.label, money(&currency, b.total_minor))}</title>
                </rect>
                {label}
            }
        })
        .collect_view();
    time_frame(title, bars, currency, max, columns.into_any())
}

/// A line over the days of a month, a dot per day.
#[component]
pub fn LineChart(
    title: String,
    bars: Vec<Bar>,
    currency: String,
    #[prop(default = 1)] label_every: usize,
    short: fn(&str) -> String,
) -> impl IntoView {
    let max = bars.iter().map(|b| b.total_minor).max().unwrap_or(0).max(1);
    let slot = (WIDTH - LEFT) / bars.len().max(1) as f64;
    let plot = HEIGHT - BOTTOM;
    let point = |i: usize, b: &Bar| (LEFT + (i as f64 + 0.5) * slot, plot - plot * b.total_minor as f64 / max as f64);
    let path = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let (x, y) = point(i, b);
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ");
    let dots = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let (x, y) = point(i, b);
            let label = (i % label_every == 0).then(|| {
                view! { <text x=x y=HEIGHT - 6.0 text-anchor="middle" class="axis">{short(&b.label)}</text> }
            });
            view! {
                <circle cx=x cy=y r="3" class="dot">
                    <title>{format!("{}: {}", b.label, money(&currency, b.total_minor))}</title>
                </circle>
                {label}
            }
        })
        .collect_view();
    let marks = view! { <polyline points=path class="line"/> {dots} };
    time_frame(title, bars, currency, max, marks.into_any())
}

/// The figure around a chart over time: axes with the top value, the marks, the figures table.
fn time_frame(title: String, bars: Vec<Bar>, currency: String, max: i64, marks: AnyView) -> AnyView {
    let plot = HEIGHT - BOTTOM;
    view! {
        <figure class="chart">
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title.clone()>
                <line x1=LEFT y1=plot x2=WIDTH y2=plot class="axis-line"/>
                <line x1=LEFT y1="0" x2=LEFT y2=plot class="axis-line"/>
                <text x=LEFT - 6.0 y="12" text-anchor="end" class="axis">{money(&currency, max)}</text>
                <text x=LEFT - 6.0 y=plot text-anchor="end" class="axis">"0"</text>
                {marks}
            </svg>
            <FigureTable title bars currency/>
        </figure>
    }
    .into_any()
}

/// Horizontal bars, one per category, biggest first.
#[component]
pub fn BreakdownChart(title: String, bars: Vec<Bar>, currency: String) -> impl IntoView {
    let max = bars.iter().map(|b| b.total_minor).max().unwrap_or(0).max(1);
    let row = 28.0;
    let height = (bars.len().max(1) as f64) * row;
    let label_width = 130.0;
    let rows = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let y = i as f64 * row;
            let w = (WIDTH - label_width - 110.0) * b.total_minor as f64 / max as f64;
            view! {
                <text x=label_width - 8.0 y=y + 18.0 text-anchor="end" class="axis">{b.label.clone()}</text>
                <rect x=label_width y=y + 5.0 width=w height=row - 10.0 class="bar"/>
                <text x=label_width + w + 6.0 y=y + 18.0 class="axis">{money(&currency, b.total_minor)}</text>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-label=title.clone()>{rows}</svg>
            <FigureTable title bars currency/>
        </figure>
    }
    .into_any()
}

#[component]
fn FigureTable(title: String, bars: Vec<Bar>, currency: String) -> impl IntoView {
    view! {
        <details class="figures">
            <summary>"Figures"</summary>
            <table>
                <caption class="visually-hidden">{title}</caption>
                <thead><tr><th scope="col">""</th><th scope="col">"Total"</th><th scope="col">"Expenses"</th></tr></thead>
                <tbody>
                    {bars.into_iter().map(|b| view! {
                        <tr><th scope="row">{b.label}</th><td>{money(&currency, b.total_minor)}</td><td>{b.count}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </details>
    }
    .into_any()
}
