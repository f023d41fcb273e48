// SPDX-License-Identifier: GPL-2.0-only
//
// A line chart in SVG of one series over time (GET /api/history's
// samples): axes with a few ticks, the line, and the last value. Empty
// samples (null) break the line.
'use strict';

function drawChart(container, points, opt) {
	const w = 560, h = 180, l = 44, r = 12, t = 12, b = 26;
	const svg = svgEl('svg', { width: w, height: h, viewBox: '0 0 ' + w + ' ' + h, class: 'chart' });
	const now = opt.now, span = opt.span;
	const vals = points.map((p) => p[1]).filter((v) => v !== null && v !== undefined);
	const max = opt.max !== undefined ? opt.max : Math.max(1, ...vals) * 1.1;
	const min = opt.min || 0;
	const X = (ts) => l + (w - l - r) * (1 - (now - ts) / span);
	const Y = (v) => h - b - (h - t - b) * ((v - min) / (max - min));
	svg.appendChild(svgEl('rect', { x: l, y: t, width: w - l - r, height: h - t - b, class: 'plot' }));
	for (let i = 0; i <= 4; i++) {
		const v = min + (max - min) * i / 4;
		svg.appendChild(svgEl('line', { x1: l, x2: w - r, y1: Y(v), y2: Y(v), class: 'grid' }));
		svg.appendChild(svgEl('text', { x: l - 4, y: Y(v) + 4, 'text-anchor': 'end', class: 'tick' },
				      v.toFixed(opt.digits || 0)));
	}
	for (let m = 0; m <= 60; m += 15) {
		const xx = X(now - span + m * 60000);
		svg.appendChild(svgEl('text', { x: xx, y: h - 8, 'text-anchor': 'middle', class: 'tick' },
				      m === 60 ? 'now' : '-' + (60 - m) + ' min'));
	}
	let d = '', pen = false;
	for (const [ts, v] of points) {
		if (v === null || v === undefined) { pen = false; continue; }
		d += (pen ? 'L' : 'M') + X(ts).toFixed(1) + ',' + Y(v).toFixed(1);
		pen = true;
	}
	if (d) svg.appendChild(svgEl('path', { d, class: 'line' }));
	if (points.length < 40)
		for (const [ts, v] of points)
			if (v !== null && v !== undefined)
				svg.appendChild(svgEl('circle', { cx: X(ts), cy: Y(v), r: 2.5, class: 'dot' }));
	const last = vals.length ? vals[vals.length - 1] : null;
	svg.appendChild(svgEl('text', { x: w - r, y: t + 12, 'text-anchor': 'end', class: 'last' },
			      opt.title + ': ' + (last === null ? '-' : last.toFixed(opt.digits || 0))));
	container.replaceChildren(svg);
}
