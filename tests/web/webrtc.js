// SPDX-License-Identifier: GPL-2.0-only
//
// A WebRTC call from headless chromium (tests/integration/68-webrtc.t):
// serves tests/web/webrtc.html and tests/node/node_modules (JsSIP) on
// 127.0.0.1:PORT (a secure origin for getUserMedia), opens the page with
// the query given, waits for its outcome and prints it as one JSON line.
//
//   node webrtc.js PORT QUERY TIMEOUT_S
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { chromium } = require('playwright-core');

const [port, query, timeout] = process.argv.slice(2);
const top = path.resolve(__dirname, '..');
const nm = path.join(top, 'node', 'node_modules');

const server = http.createServer((req, res) => {
	const url = new URL(req.url, 'http://x');
	let file = null;
	if (url.pathname === '/' || url.pathname === '/webrtc.html')
		file = path.join(__dirname, 'webrtc.html');
	else if (url.pathname.startsWith('/nm/'))
		file = path.join(nm, path.normalize(url.pathname.slice(4)).replace(/^(\.\.[/\\])+/, ''));
	if (!file || !file.startsWith(top) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
		res.writeHead(404);
		res.end();
		return;
	}
	res.writeHead(200, { 'Content-Type': file.endsWith('.html') ? 'text/html' : 'text/javascript' });
	res.end(req.method === 'HEAD' ? undefined : fs.readFileSync(file));
});

async function main() {
	await new Promise((r) => server.listen(Number(port), '127.0.0.1', r));
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
			'--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
			'--disable-features=WebRtcHideLocalIpsWithMdns',
			'--autoplay-policy=no-user-gesture-required'],
	});
	const page = await browser.newPage();
	page.on('console', (m) => process.stderr.write('console: ' + m.text() + '\n'));
	page.on('pageerror', (e) => process.stderr.write('pageerror: ' + e.message + '\n'));
	await page.goto(`http://127.0.0.1:${port}/webrtc.html?${query}`);
	const handle = await page.waitForFunction(() => window.outcome, null,
		{ timeout: Number(timeout) * 1000 }).catch(() => null);
	const outcome = handle ? await handle.jsonValue() : { error: 'timeout' };
	console.log(JSON.stringify(outcome));
	await browser.close();
	server.close();
}
main().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
