// SPDX-License-Identifier: GPL-2.0-only
//
// A call's ladder diagram in SVG, drawn from DSP SIPTRACE's messages
// (GET /api/siptrace?callid=...): one lifeline per party (the phones and
// trunk by address, sluiced in the middle), one arrow per message with its
// method or status and its time since the first; a click on an arrow
// calls onpick(seq). Text lands in the SVG only through textContent.
'use strict';

const SVGNS = 'http://www.w3.org/2000/svg';

function svgEl(name, attrs, text) {
	const e = document.createElementNS(SVGNS, name);
	for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
	if (text !== undefined) e.textContent = text;
	return e;
}

// "INVITE sip:2002@ims.local SIP/2.0" -> "INVITE"; "SIP/2.0 200 OK" -> "200 OK".
function ladderLabel(summary) {
	const s = String(summary || '');
	if (s.startsWith('SIP/2.0 ')) return s.slice(8, 48);
	return s.split(' ')[0].slice(0, 24);
}

// The parties, left to right: the caller's leg, sluiced, the callee's leg.
function ladderParties(msgs) {
	const remote = (m) => (m.dir === 'OUT' ? m.dst : m.src);
	const local = (m) => (m.dir === 'OUT' ? m.src : m.dst);
	const left = [], right = [], locals = new Set();
	for (const m of msgs) {
		locals.add(local(m));
		const r = remote(m);
		const side = m.leg === 'B' ? right : left;
		if (!left.includes(r) && !right.includes(r)) side.push(r);
	}
	return { order: [...left, 'sluiced', ...right], locals };
}

function drawLadder(container, msgs, onpick) {
	container.replaceChildren();
	if (!msgs.length) return;
	const { order, locals } = ladderParties(msgs);
	const col = 230, row = 34, top = 48, left = 90;
	const width = left + col * (order.length - 1) + 120;
	const height = top + row * msgs.length + 20;
	const x = (addr) => left + 60 + col * order.indexOf(locals.has(addr) ? 'sluiced' : addr);
	const svg = svgEl('svg', { width, height, viewBox: '0 0 ' + width + ' ' + height, class: 'ladder' });
	const defs = svgEl('defs');
	const marker = svgEl('marker', { id: 'arrow', markerWidth: 10, markerHeight: 8, refX: 9, refY: 4, orient: 'auto' });
	marker.appendChild(svgEl('path', { d: 'M0,0 L10,4 L0,8 z', class: 'head' }));
	defs.appendChild(marker);
	svg.appendChild(defs);
	order.forEach((p, i) => {
		const cx = left + 60 + col * i;
		svg.appendChild(svgEl('text', { x: cx, y: 18, 'text-anchor': 'middle', class: 'party' },
				      p === 'sluiced' ? 'sluiced' : p));
		svg.appendChild(svgEl('line', { x1: cx, y1: 26, x2: cx, y2: height - 8, class: 'life' }));
	});
	const t0 = msgs[0].us;
	msgs.forEach((m, i) => {
		const y = top + row * i + 14;
		const x1 = x(m.src), x2 = x(m.dst);
		const g = svgEl('g', { class: 'msg' + (/^SIP\/2\.0 [3456]/.test(m.message) ? ' fail' : ''),
				       'data-seq': m.seq, tabindex: 0 });
		g.appendChild(svgEl('text', { x: 4, y: y + 4, class: 'time' },
				    '+' + ((m.us - t0) / 1e6).toFixed(3) + 's'));
		g.appendChild(svgEl('line', { x1, y1: y, x2: x2 + (x2 > x1 ? -2 : 2), y2: y, 'marker-end': 'url(#arrow)' }));
		g.appendChild(svgEl('text', { x: (x1 + x2) / 2, y: y - 5, 'text-anchor': 'middle', class: 'label' },
				    ladderLabel(m.message)));
		g.appendChild(svgEl('rect', { x: Math.min(x1, x2), y: y - 18, width: Math.abs(x2 - x1) || 10, height: 24, class: 'hit' }));
		const title = svgEl('title', {}, m.time + ' ' + m.proto + ' ' + m.src + ' -> ' + m.dst);
		g.appendChild(title);
		g.addEventListener('click', () => onpick(m.seq));
		g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') onpick(m.seq); });
		svg.appendChild(g);
	});
	container.appendChild(svg);
}
