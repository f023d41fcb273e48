// SPDX-License-Identifier: GPL-2.0-only
//
// JsSIP, the browser SIP stack, registering over WebSocket for
// tests/integration/64-sip-ws.t: node 20 has no WebSocket of its own, so
// the npm "ws" client stands in for the browser's (JsSIP only needs its
// standard interface). Prints "registered" or "failed CAUSE" and exits.
//
// node jssip-register.js URL USER PASSWORD DOMAIN [CA-FILE]
'use strict';

const fs = require('fs');
const WS = require('ws');
const [url, user, password, domain, caFile] = process.argv.slice(2);
const ca = caFile ? fs.readFileSync(caFile) : undefined;

// The browser's WebSocket, as JsSIP constructs it: new WebSocket(url, 'sip').
global.WebSocket = class extends WS {
	constructor(u, protocols) { super(u, protocols, { ca }); }
};
const JsSIP = require('jssip');

const ua = new JsSIP.UA({
	sockets: [new JsSIP.WebSocketInterface(url)],
	uri: `sip:${user}@${domain}`,
	password,
	register: true,
	register_expires: 600,
	session_timers: false,
});
setTimeout(() => { console.log('failed timeout'); process.exit(1); }, 15000).unref();
ua.on('registered', () => {
	console.log('registered');
	ua.stop();
	setTimeout(() => process.exit(0), 500);
});
ua.on('registrationFailed', (e) => { console.log('failed ' + e.cause); process.exit(1); });
ua.start();
