//! The execution graph as an SVG laid out on the server: one column per
//! wave (every node after the nodes it needs), `needs` as edges. Each node
//! is a link to its details and carries its status as text and as a class.

use std::collections::HashMap;
use std::fmt::Write;

use super::html::{escape, status_word};

/// A node to draw: its name, `stage`/`gate`, the names it needs.
pub struct GraphNode {
    pub name: String,
    pub kind: String,
    pub needs: Vec<String>,
}

const WIDTH: i64 = 168;
const HEIGHT: i64 = 50;
const GAP_X: i64 = 56;
const GAP_Y: i64 = 14;
const PAD: i64 = 8;

/// `waves[i]` holds indexes into `nodes`; `status` gives a node's status word.
pub fn render(nodes: &[GraphNode], waves: &[Vec<usize>], status: &dyn Fn(&str) -> String) -> String {
    let mut place: HashMap<&str, (i64, i64)> = HashMap::new();
    let mut rows = 0;
    for (column, wave) in waves.iter().enumerate() {
        rows = rows.max(wave.len() as i64);
        for (row, &index) in wave.iter().enumerate() {
            let x = PAD + column as i64 * (WIDTH + GAP_X);
            let y = PAD + row as i64 * (HEIGHT + GAP_Y);
            place.insert(nodes[index].name.as_str(), (x, y));
        }
    }
    let width = PAD * 2 + waves.len() as i64 * (WIDTH + GAP_X) - GAP_X;
    let height = PAD * 2 + rows * (HEIGHT + GAP_Y) - GAP_Y;
    let mut svg = format!(
        "<svg class=\"graph\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         role=\"group\" aria-label=\"Execution graph\">"
    );
    edges(&mut svg, nodes, &place);
    for node in nodes {
        if let Some(&(x, y)) = place.get(node.name.as_str()) {
            node_box(&mut svg, node, x, y, &status(&node.name));
        }
    }
    svg.push_str("</svg>");
    svg
}

fn edges(svg: &mut String, nodes: &[GraphNode], place: &HashMap<&str, (i64, i64)>) {
    svg.push_str("<g class=\"edges\" aria-hidden=\"true\">");
    for node in nodes {
        let Some(&(x, y)) = place.get(node.name.as_str()) else { continue };
        for need in &node.needs {
            let Some(&(from_x, from_y)) = place.get(need.as_str()) else { continue };
            let (start_x, start_y, end_y) = (from_x + WIDTH, from_y + HEIGHT / 2, y + HEIGHT / 2);
            let middle = (start_x + x) / 2;
            let _ = write!(svg, "<path d=\"M{start_x},{start_y} C{middle},{start_y} {middle},{end_y} {x},{end_y}\"/>");
        }
    }
    svg.push_str("</g>");
}

fn node_box(svg: &mut String, node: &GraphNode, x: i64, y: i64, status: &str) {
    let word = status_word(status);
    let class = word.replace(' ', "-");
    let name = escape(&node.name);
    let shape = if node.kind == "gate" { " rx=\"22\"" } else { " rx=\"4\"" };
    let _ = write!(
        svg,
        "<a href=\"#node-{name}\" class=\"node s-{class}\" data-node=\"{name}\" data-kind=\"{kind}\">\
         <title>{kind} {name}: {word}</title>\
         <rect x=\"{x}\" y=\"{y}\" width=\"{WIDTH}\" height=\"{HEIGHT}\"{shape}/>\
         <text x=\"{tx}\" y=\"{ty}\" class=\"name\">{name}</text>\
         <text x=\"{tx}\" y=\"{sy}\" class=\"word\" data-status>{word}</text></a>",
        kind = escape(&node.kind),
        word = escape(word),
        tx = x + 12,
        ty = y + 20,
        sy = y + 39,
    );
}
