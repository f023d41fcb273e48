// SPDX-License-Identifier: GPL-2.0-only
//
// A SIP phone over WebSocket (RFC 7118) for tests/integration/64-sip-ws.t,
// as a browser's SIP stack would speak it: the npm "ws" client with the
// "sip" subprotocol, a Via and Contact under a random .invalid host,
// REGISTER answered with MD5 digest, then N incoming INVITEs answered 200
// with an SDP naming a UDP port this script counts RTP on, each ended by
// the caller's BYE. One line per event on stdout:
//   connected PROTOCOL, registered EXPIRES CONTACT, invite FROM via VIA
//   contact CONTACT (the INVITE's top Via and Contact), acked,
//   bye RTP-RECEIVED RTP-SENT, done; "error WHAT" and exit 1 on anything
//   else. After the ACK it sends 50 PCMA packets a second to the offer's
//   address until the BYE, as a phone would (the relay latches on them).
//
// node wsphone.js URL USER PASSWORD DOMAIN [--ca FILE] [--calls N]
//                 [--media ADDRESS:PORT] [--timeout SECONDS]
'use strict';

const crypto = require('crypto');
const dgram = require('dgram');
const fs = require('fs');
const WebSocket = require('ws');

const argv = process.argv.slice(2);
const [url, user, password, domain] = argv;
const opt = (name, dflt) => {
	const i = argv.indexOf('--' + name);
	return i >= 0 ? argv[i + 1] : dflt;
};
const calls = Number(opt('calls', '1'));
const [mediaAddr, mediaPort] = opt('media', '127.0.0.1:0').split(':');
const ca = opt('ca') ? fs.readFileSync(opt('ca')) : undefined;
const host = crypto.randomBytes(6).toString('hex') + '.invalid';
const callId = crypto.randomBytes(8).toString('hex');
const tag = crypto.randomBytes(4).toString('hex');
const transport = url.startsWith('wss:') ? 'WSS' : 'WS';
const contact = `<sip:${user}@${host};transport=${transport.toLowerCase()}>`;
let cseq = 1, answered = 0, rtp = 0, sent = 0, peer = null, timer = null;

const say = (line) => process.stdout.write(line + '\n');
const fail = (what) => { say('error ' + what); process.exit(1); };
setTimeout(() => fail('timed out'), 1000 * Number(opt('timeout', '30'))).unref();

const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');
const branch = () => 'z9hG4bK' + crypto.randomBytes(6).toString('hex');

// A SIP message into start line, headers (lower-case names, first value) and body.
function parse(text) {
	const [head, ...rest] = text.split('\r\n\r\n');
	const lines = head.split('\r\n');
	const hdr = {}, all = {};
	for (const l of lines.slice(1)) {
		const i = l.indexOf(':');
		const k = l.slice(0, i).trim().toLowerCase(), v = l.slice(i + 1).trim();
		(all[k] = all[k] || []).push(v);
		if (!(k in hdr)) hdr[k] = v;
	}
	return { start: lines[0], hdr, all, body: rest.join('\r\n\r\n') };
}

function register(ws, auth) {
	const lines = [
		`REGISTER sip:${domain} SIP/2.0`,
		`Via: SIP/2.0/${transport} ${host};branch=${branch()}`,
		'Max-Forwards: 70',
		`From: <sip:${user}@${domain}>;tag=${tag}`,
		`To: <sip:${user}@${domain}>`,
		`Call-ID: ${callId}`,
		`CSeq: ${cseq++} REGISTER`,
		`Contact: ${contact}`,
		'Expires: 600',
		'User-Agent: sluice-wsphone',
	];
	if (auth)
		lines.push('Authorization: ' + auth);
	ws.send(lines.join('\r\n') + '\r\nContent-Length: 0\r\n\r\n');
}

// Where the offer's audio goes: its c= address and m=audio port.
function offerAddr(sdp) {
	const c = /^c=IN IP4 (\S+)/m.exec(sdp), m = /^m=audio (\d+)/m.exec(sdp);
	return c && m ? { addr: c[1], port: Number(m[1]) } : null;
}

// 50 PCMA packets a second to the offer's address, as a phone talks (latching).
function talk() {
	const pkt = Buffer.alloc(12 + 160, 0xd5);
	let seq = 0;
	pkt[0] = 0x80;
	pkt[1] = 8;
	pkt.writeUInt32BE(0x5157ab1e, 8);
	timer = setInterval(() => {
		pkt.writeUInt16BE(seq & 0xffff, 2);
		pkt.writeUInt32BE((160 * seq++) >>> 0, 4);
		sock.send(pkt, peer.port, peer.addr);
		sent++;
	}, 20);
}

// The digest answer to a 401's challenge (RFC 2617, MD5, qop=auth when offered).
function digest(challenge) {
	const p = {};
	for (const m of challenge.replace(/^Digest\s+/i, '').matchAll(/(\w+)=("([^"]*)"|[^,\s]*)/g))
		p[m[1].toLowerCase()] = m[3] !== undefined ? m[3] : m[2];
	const uri = `sip:${domain}`, nc = '00000001', cnonce = crypto.randomBytes(4).toString('hex');
	const ha1 = md5(`${user}:${p.realm}:${password}`), ha2 = md5(`REGISTER:${uri}`);
	const qop = p.qop && p.qop.split(',').map((s) => s.trim()).includes('auth');
	const resp = qop ? md5(`${ha1}:${p.nonce}:${nc}:${cnonce}:auth:${ha2}`)
		: md5(`${ha1}:${p.nonce}:${ha2}`);
	return `Digest username="${user}", realm="${p.realm}", nonce="${p.nonce}", uri="${uri}", ` +
		`response="${resp}", algorithm=MD5` +
		(qop ? `, qop=auth, nc=${nc}, cnonce="${cnonce}"` : '') +
		(p.opaque ? `, opaque="${p.opaque}"` : '');
}

// A response to req: its Vias, From, To (with our tag), Call-ID and CSeq.
function reply(ws, req, code, reason, extra = [], body = '') {
	const lines = [`SIP/2.0 ${code} ${reason}`];
	for (const v of req.all.via)
		lines.push('Via: ' + v);
	lines.push('From: ' + req.hdr.from);
	lines.push('To: ' + req.hdr.to + (/;tag=/.test(req.hdr.to) || code === 100 ? '' : ';tag=' + tag));
	lines.push('Call-ID: ' + req.hdr['call-id'], 'CSeq: ' + req.hdr.cseq, ...extra);
	ws.send(lines.join('\r\n') + `\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n` + body);
}

const sock = dgram.createSocket('udp4');
sock.on('message', () => rtp++);
sock.bind(Number(mediaPort), mediaAddr, () => {
	const port = sock.address().port;
	const sdp = ['v=0', `o=- 1 1 IN IP4 ${mediaAddr}`, 's=-', `c=IN IP4 ${mediaAddr}`, 't=0 0',
		`m=audio ${port} RTP/AVP 8`, 'a=rtpmap:8 PCMA/8000', 'a=sendrecv', ''].join('\r\n');
	const ws = new WebSocket(url, 'sip', { ca, rejectUnauthorized: true });

	ws.on('open', () => { say('connected ' + ws.protocol); register(ws); });
	ws.on('error', (e) => fail('websocket ' + e.message));
	ws.on('close', (code) => { if (answered < calls) fail('closed ' + code); });
	ws.on('message', (data) => {
		const m = parse(data.toString());
		if (m.start.startsWith('SIP/2.0 401')) {
			register(ws, digest(m.hdr['www-authenticate']));
		} else if (m.start.startsWith('SIP/2.0 200') && /REGISTER/.test(m.hdr.cseq)) {
			say(`registered ${m.hdr.expires || '-'} ${m.hdr.contact}`);
		} else if (m.start.startsWith('SIP/2.0 ')) {
			fail('response ' + m.start);
		} else if (m.start.startsWith('INVITE ')) {
			say(`invite ${m.hdr.from} via ${m.hdr.via} contact ${m.hdr.contact}`);
			peer = offerAddr(m.body);
			reply(ws, m, 180, 'Ringing', [`Contact: ${contact}`]);
			reply(ws, m, 200, 'OK', [`Contact: ${contact}`, 'Content-Type: application/sdp'], sdp);
		} else if (m.start.startsWith('ACK ')) {
			say('acked');
			if (peer && !timer)
				talk();
		} else if (m.start.startsWith('BYE ')) {
			reply(ws, m, 200, 'OK');
			clearInterval(timer);
			timer = null;
			say(`bye ${rtp} ${sent}`);
			rtp = sent = 0;
			if (++answered === calls) {
				say('done');
				ws.close(1000);
				sock.close();
			}
		} else if (m.start.startsWith('OPTIONS ')) {
			reply(ws, m, 200, 'OK');
		} else {
			fail('request ' + m.start);
		}
	});
});
