// SPDX-License-Identifier: GPL-2.0-only
//
// Listening in on a live call (the Listen button of the live calls page):
// POST /api/listen (STR LISTEN) gives a one-use ticket, a WebSocket to
// /api/listen/ws?ticket=... brings each direction's RTP payload (byte 0:
// 0 from the caller, 1 from the callee; byte 1: the payload type), and
// this page decodes G.711 (PCMU, PCMA) itself and plays it with Web
// Audio, each direction on its own timeline, the two mixed. Any other
// codec is said so, not played. Stop (or leaving the call) closes the
// WebSocket and the call's media goes back to the kernel.
'use strict';

const listen = { ws: null, ctx: null, callid: '', samples: [0, 0], next: [0, 0], other: '' };

// ITU-T G.711, from the bytes: 8-bit codes to 16-bit linear samples.
function ulawSample(b) {
	const u = ~b & 0xff;
	let t = ((u & 0x0f) << 3) + 0x84;
	t <<= (u & 0x70) >> 4;
	return u & 0x80 ? 0x84 - t : t - 0x84;
}

function alawSample(b) {
	const a = b ^ 0x55;
	const seg = (a & 0x70) >> 4;
	let t = (a & 0x0f) << 4;
	if (seg === 0) t += 8;
	else t = (t + 0x108) << (seg - 1);
	return a & 0x80 ? t : -t;
}

const G711 = { 0: new Float32Array(256), 8: new Float32Array(256) };
for (let i = 0; i < 256; i++) {
	G711[0][i] = ulawSample(i) / 32768;
	G711[8][i] = alawSample(i) / 32768;
}
const CODECS = { 0: 'PCMU', 8: 'PCMA' };

function listenPanel() {
	let p = $('listen-panel');
	if (p) return p;
	p = document.createElement('div');
	p.id = 'listen-panel';
	p.className = 'tiles';
	p.hidden = true;
	const tile = (label, id) => {
		const t = document.createElement('div');
		t.className = 'tile';
		const l = document.createElement('span');
		l.className = 'label';
		l.textContent = label;
		const v = document.createElement('span');
		v.className = 'value small';
		v.id = id;
		v.textContent = '-';
		t.append(l, v);
		p.appendChild(t);
	};
	tile('Listening to', 'listen-call');
	tile('State', 'listen-status');
	tile('Codec', 'listen-codec');
	tile('Caller samples', 'listen-samples-0');
	tile('Callee samples', 'listen-samples-1');
	const stop = button('Stop listening', 'danger', () => listenStop('stopped'));
	stop.id = 'listen-stop';
	p.appendChild(stop);
	const page = $('page-calls');
	page.insertBefore(p, page.querySelector('table'));
	return p;
}

function listenPlay(dir, pt, payload) {
	const table = G711[pt];
	if (!table) {
		const name = 'payload type ' + pt;
		if (listen.other !== name) {
			listen.other = name;
			$('listen-codec').textContent = name + ': not G.711, the browser cannot play it';
		}
		return;
	}
	const n = payload.length;
	listen.samples[dir] += n;
	$('listen-samples-' + dir).textContent = String(listen.samples[dir]);
	$('listen-codec').textContent = CODECS[pt];
	if (!listen.ctx) return;
	const buf = listen.ctx.createBuffer(1, n, 8000);
	const out = buf.getChannelData(0);
	for (let i = 0; i < n; i++) out[i] = table[payload[i]];
	const src = listen.ctx.createBufferSource();
	src.buffer = buf;
	src.connect(listen.ctx.destination);
	// A little behind real time, so that jitter does not click.
	const now = listen.ctx.currentTime;
	if (listen.next[dir] < now + 0.05 || listen.next[dir] > now + 1) listen.next[dir] = now + 0.1;
	src.start(listen.next[dir]);
	listen.next[dir] += n / 8000;
}

function listenStop(why) {
	if (listen.ws) {
		const ws = listen.ws;
		listen.ws = null;
		ws.close(1000, why);
	}
	if (listen.ctx) listen.ctx.close();
	listen.ctx = null;
	if ($('listen-status')) $('listen-status').textContent = why;
}

async function listenStart(callid) {
	listenStop('switched');
	const p = listenPanel();
	listen.samples = [0, 0];
	listen.other = '';
	for (const id of ['listen-samples-0', 'listen-samples-1', 'listen-codec']) $(id).textContent = '0';
	$('listen-call').textContent = callid;
	$('listen-status').textContent = 'starting';
	p.hidden = false;
	let row;
	try {
		row = rows(await api('POST', '/api/listen', { callid }))[0];
	} catch (e) {
		$('listen-status').textContent = 'refused';
		show(e.message, true);
		return;
	}
	$('listen-codec').textContent = row.codec;
	if (row.codec !== 'PCMA' && row.codec !== 'PCMU')
		show('This call\'s codec is ' + row.codec + ': the browser plays G.711 (PCMA, PCMU) only.', true);
	try {
		listen.ctx = new AudioContext({ sampleRate: 8000 });
	} catch (e) {
		listen.ctx = null;	// counted and shown, not played
	}
	listen.next = [0, 0];
	const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + row.url);
	ws.binaryType = 'arraybuffer';
	listen.ws = ws;
	listen.callid = callid;
	ws.onopen = () => { $('listen-status').textContent = 'listening'; };
	ws.onmessage = (ev) => {
		if (!(ev.data instanceof ArrayBuffer) || ev.data.byteLength < 3) return;
		const d = new Uint8Array(ev.data);
		listenPlay(d[0] ? 1 : 0, d[1], d.subarray(2));
	};
	ws.onclose = (ev) => {
		if (listen.ws === ws) {
			listen.ws = null;
			listenStop('ended' + (ev.reason ? ': ' + ev.reason : ''));
		}
	};
}

// The live calls page asks for one per call row.
function listenButton(call) {
	const b = button('Listen', 'plain listen', () => listenStart(call.callid));
	b.dataset.callid = call.callid;
	return b;
}
