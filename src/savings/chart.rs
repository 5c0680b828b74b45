//! Geometry of the server-rendered SVG bar charts: integer pixel positions computed from the
//! exact minor units, so no figure passes through a float; the template draws what this returns.

use serde::Serialize;

/// Where the labels end and the bars begin, the room for bars, and the height of a row.
const LABEL_WIDTH: i64 = 300;
const BAR_SPAN: i64 = 380;
const VALUE_WIDTH: i64 = 160;
const ROW_HEIGHT: i64 = 30;
const BAR_HEIGHT: i64 = 20;
const PAD: i64 = 10;
/// Labels longer than this are cut in the picture; the data table beside it has them whole.
const LABEL_CHARS: usize = 42;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bar {
    pub label: String,
    pub value_text: String,
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub negative: bool,
    pub label_y: i64,
    pub value_x: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BarChart {
    pub id: String,
    pub title: String,
    pub description: String,
    pub width: i64,
    pub height: i64,
    pub label_x: i64,
    pub axis_x: i64,
    pub axis_top: i64,
    pub axis_bottom: i64,
    pub bars: Vec<Bar>,
}

/// `value × span / whole`, rounded half away from zero to whole pixels (kaufmännisch).
pub fn scale(value: i64, span: i64, whole: i64) -> i64 {
    if whole == 0 {
        return 0;
    }
    let n = i128::from(value) * i128::from(span);
    let d = i128::from(whole);
    let q = n / d;
    let r = n % d;
    let rounded = if 2 * r.abs() >= d.abs() {
        q + n.signum() * d.signum()
    } else {
        q
    };
    rounded as i64
}

fn cut(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// A horizontal bar chart of `(label, value in minor units, value as text)`; negative values
/// grow left of the zero line, positive ones right of it, all on one scale.
pub fn bar_chart(id: &str, title: &str, description: &str, rows: &[(String, i64, String)]) -> BarChart {
    let max_pos = rows.iter().map(|r| r.1).max().unwrap_or(0).max(0);
    let max_neg = rows.iter().map(|r| r.1).min().unwrap_or(0).min(0).saturating_neg();
    let whole = max_pos.saturating_add(max_neg);
    let axis_x = LABEL_WIDTH + scale(max_neg, BAR_SPAN, whole);
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, (label, value, text))| {
            let y = PAD + i as i64 * ROW_HEIGHT;
            let width = scale(value.saturating_abs(), BAR_SPAN, whole);
            let x = if *value < 0 { axis_x - width } else { axis_x };
            Bar {
                label: cut(label),
                value_text: text.clone(),
                x,
                y: y + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                width,
                height: BAR_HEIGHT,
                negative: *value < 0,
                label_y: y + ROW_HEIGHT / 2 + 5,
                value_x: LABEL_WIDTH + BAR_SPAN + 8,
            }
        })
        .collect();
    BarChart {
        id: id.to_string(),
        title: title.to_string(),
        description: description.to_string(),
        width: LABEL_WIDTH + BAR_SPAN + VALUE_WIDTH,
        height: 2 * PAD + rows.len() as i64 * ROW_HEIGHT,
        label_x: LABEL_WIDTH - 8,
        axis_x,
        axis_top: PAD / 2,
        axis_bottom: PAD + rows.len() as i64 * ROW_HEIGHT + PAD / 2,
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(values: &[i64]) -> Vec<(String, i64, String)> {
        values.iter().map(|v| (format!("R{v}"), *v, v.to_string())).collect()
    }

    #[test]
    fn scale_rounds_half_away_from_zero() {
        assert_eq!(scale(1, 3, 2), 2); // 1.5 → 2
        assert_eq!(scale(-1, 3, 2), -2); // −1.5 → −2
        assert_eq!(scale(1, 1, 3), 0); // 0.33 → 0
        assert_eq!(scale(2, 1, 3), 1); // 0.67 → 1
        assert_eq!(scale(5, 10, 0), 0);
    }

    #[test]
    fn largest_value_fills_the_span() {
        let c = bar_chart("c", "T", "D", &rows(&[50, 100, 25]));
        assert_eq!(c.axis_x, LABEL_WIDTH);
        let w: Vec<i64> = c.bars.iter().map(|b| b.width).collect();
        assert_eq!(w, vec![190, 380, 95]);
        assert!(c.bars.iter().all(|b| b.x == LABEL_WIDTH && !b.negative));
    }

    #[test]
    fn negative_values_grow_left_of_the_zero_line() {
        let c = bar_chart("c", "T", "D", &rows(&[300, -100]));
        // 100 of 400 minor units are negative: the zero line sits a quarter into the span.
        assert_eq!(c.axis_x, LABEL_WIDTH + 95);
        assert_eq!((c.bars[0].x, c.bars[0].width), (LABEL_WIDTH + 95, 285));
        assert_eq!((c.bars[1].x, c.bars[1].width), (LABEL_WIDTH, 95));
        assert!(c.bars[1].negative);
    }

    #[test]
    fn all_zero_draws_no_bars_and_no_division_by_zero() {
        let c = bar_chart("c", "T", "D", &rows(&[0, 0]));
        assert!(c.bars.iter().all(|b| b.width == 0));
    }

    #[test]
    fn rows_stack_downwards_and_height_fits() {
        let c = bar_chart("c", "T", "D", &rows(&[1, 2, 3]));
        assert_eq!(c.height, 2 * PAD + 3 * ROW_HEIGHT);
        assert!(c.bars.windows(2).all(|w| w[1].y - w[0].y == ROW_HEIGHT));
    }

    #[test]
    fn long_labels_are_cut_in_the_picture() {
        let long = "Rahmenvereinbarung Endpoint-Schutz, Datensicherung und Videokonferenz".to_string();
        let c = bar_chart("c", "T", "D", &[(long, 1, "1".into())]);
        assert_eq!(c.bars[0].label.chars().count(), LABEL_CHARS);
        assert!(c.bars[0].label.ends_with('…'));
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let c = bar_chart("c", "T", "D", &rows(&[i64::MAX / 2, -(i64::MAX / 2)]));
        assert_eq!(c.bars[0].width + c.bars[1].width, BAR_SPAN);
    }
}
