// Runs inside one network namespace of the test cluster (`ip netns exec NS node netns-helper.mjs`):
// TCP and UDP echo servers on the ports given in argv, and a client that takes JSON-line probes on
// stdin ({id, protocol, host, port, localAddress?, timeoutMs}) and answers on stdout with
// {id, outcome: "connected" | "refused" | "timeout" | "error"}. Plain JavaScript: it starts fast.
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import dns2 from 'dns2';

// argv: the namespace's own addresses (comma-separated), then the ports. UDP servers bind each
// address, so that a reply leaves from the address the request went to (a connected UDP client
// ignores any other source).
const addresses = process.argv[2].split(',').filter((a) => a !== '');
const ports = process.argv.slice(3).map(Number);
let listening = 0;
const ready = () => {
  listening++;
  const udpPorts = process.env.NYX_HELPER_DNS_ZONE ? ports.filter((p) => p !== 53).length : ports.length;
  if (listening === ports.length + udpPorts * addresses.length) {
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  }
};
for (const port of ports) {
  const tcp = createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  // With a DNS zone, TCP 53 answers DNS too (below). With NYX_HELPER_TLS ({cert, key} PEM), TCP
  // 443 is a TLS echo server.
  if (process.env.NYX_HELPER_DNS_ZONE && port === 53) ready();
  else if (process.env.NYX_HELPER_TLS && port === 443) {
    const { cert, key } = JSON.parse(process.env.NYX_HELPER_TLS);
    const server = createTlsServer({ cert, key }, (socket) => {
      socket.on('error', () => {});
      socket.pipe(socket);
    });
    server.on('tlsClientError', () => {});
    server.listen({ port, host: '::' }, ready);
  } else tcp.listen({ port, host: '::' }, ready);
  // With a DNS zone, port 53 answers DNS (below) instead of echoing.
  for (const address of process.env.NYX_HELPER_DNS_ZONE && port === 53 ? [] : addresses) {
    const udp = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
    udp.bind(port, address, ready);
  }
}
if (ports.length === 0) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

// NYX_HELPER_DNS_ZONE (JSON {name: {address?, address6?, ttl, truncate?}}): an authoritative DNS
// server on UDP and TCP port 53 of every address of this namespace (the world's), answering A
// (`address`) and AAAA (`address6`) queries from the zone. With `truncate`, a UDP answer is empty
// with the TC bit set (too big for a datagram), so a resolver retries over TCP.
if (process.env.NYX_HELPER_DNS_ZONE) {
  const zone = JSON.parse(process.env.NYX_HELPER_DNS_ZONE);
  const { Packet } = dns2;
  const handle = (request, send, rinfo) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    const entry = question && zone[question.name.toLowerCase()];
    // dns2 hands a TCP request its socket, a UDP request the datagram's rinfo.
    const overUdp = typeof rinfo?.write !== 'function';
    if (entry?.truncate && overUdp) {
      response.header.tc = 1;
    } else if (entry && question.type === Packet.TYPE.A && entry.address) {
      response.answers.push({
        name: question.name,
        type: Packet.TYPE.A,
        class: Packet.CLASS.IN,
        ttl: entry.ttl,
        address: entry.address,
      });
    } else if (entry && question.type === Packet.TYPE.AAAA && entry.address6) {
      response.answers.push({
        name: question.name,
        type: Packet.TYPE.AAAA,
        class: Packet.CLASS.IN,
        ttl: entry.ttl,
        address: entry.address6,
      });
    }
    send(response);
  };
  // One server per address (a dns2 server binds once).
  for (const address of addresses) {
    dns2
      .createServer({ udp: true, tcp: true, handle })
      .listen({ udp: { port: 53, address, type: 'udp4' }, tcp: { port: 53, address } });
  }
}

// `{op: "dns", server, name, type?, transport?}`: an A (or AAAA) query over UDP (`udp`, a TC
// answer is not retried), UDP then TCP when truncated, as resolvers do (`udp-tcp`), or TCP (`tcp`);
// answers with the addresses (outcome "connected").
async function resolveName({ id, server, name, timeoutMs, type = 'A', transport = 'udp' }) {
  const resolve =
    transport === 'tcp'
      ? dns2.TCPClient({ dns: server, port: 53 })
      : dns2.UDPClient({ dns: server, port: 53, timeout: timeoutMs, retryOverTCP: transport === 'udp-tcp' });
  const timer = new Promise((done) => setTimeout(() => done(undefined), timeoutMs));
  const result = await Promise.race([resolve(name, type).catch(() => undefined), timer]);
  if (!result) return answer(id, 'timeout');
  process.stdout.write(
    `${JSON.stringify({ id, outcome: 'connected', addresses: result.answers.map((a) => a.address).filter(Boolean) })}\n`,
  );
}

const answer = (id, outcome) => process.stdout.write(`${JSON.stringify({ id, outcome })}\n`);

// Connections kept open by `{op: "open"}`, by the probe id that opened them.
const open = new Map();

// A TLS handshake (server name, certificate verified against `ca`) then one echo round trip.
function probeTls({ id, host, port, localAddress, timeoutMs, tls }) {
  const socket = tlsConnect({
    host,
    port,
    servername: tls.serverName,
    ca: [tls.ca],
    ...(localAddress ? { localAddress } : {}),
  });
  let done = false;
  const finish = (outcome) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    answer(id, outcome);
  };
  const timer = setTimeout(() => finish('timeout'), timeoutMs);
  socket.on('secureConnect', () => socket.write('x'));
  socket.on('data', () => finish('connected'));
  socket.on('error', (e) => finish(e.code === 'ECONNREFUSED' ? 'refused' : 'error'));
}

function probeTcp({ id, host, port, localAddress, timeoutMs, op }) {
  const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
  socket.on('error', () => {});
  let done = false;
  const finish = (outcome) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (op === 'open' && outcome === 'connected') open.set(id, socket);
    else socket.destroy();
    answer(id, outcome);
  };
  const timer = setTimeout(() => finish('timeout'), timeoutMs);
  socket.on('connect', () => finish('connected'));
  socket.on('error', (e) => finish(e.code === 'ECONNREFUSED' ? 'refused' : 'error'));
}

function probeUdp({ id, host, port, localAddress, timeoutMs }) {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let done = false;
  const finish = (outcome) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.close();
    answer(id, outcome);
  };
  const timer = setTimeout(() => finish('timeout'), timeoutMs);
  socket.on('message', () => finish('connected'));
  socket.on('error', (e) => finish(e.code === 'ECONNREFUSED' ? 'refused' : 'error'));
  socket.bind(0, localAddress ?? (host.includes(':') ? '::' : '0.0.0.0'), () => {
    socket.connect(port, host, () => socket.send('probe'));
  });
}

// `{op: "echo", conn}`: one round trip on an open connection ("connected" when the echo returns).
function echo({ id, conn, timeoutMs }) {
  const socket = open.get(conn);
  if (!socket) return answer(id, 'error');
  let done = false;
  const onData = () => finish('connected');
  const finish = (outcome) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.off('data', onData);
    answer(id, outcome);
  };
  const timer = setTimeout(() => finish('timeout'), timeoutMs);
  socket.on('data', onData);
  socket.write('x');
}

// `{op: "rate", host, port, durationMs}`: sequential TCP connects (connect, then close) for the
// duration, from one client to one server; answers with how many completed.
function rate({ id, host, port, durationMs }) {
  const end = Date.now() + durationMs;
  let count = 0;
  const next = () => {
    if (Date.now() >= end) {
      process.stdout.write(`${JSON.stringify({ id, outcome: 'connected', count })}\n`);
      return;
    }
    const socket = connect({ host, port });
    socket.on('connect', () => {
      count++;
      socket.destroy();
      next();
    });
    socket.on('error', () => {
      socket.destroy();
      next();
    });
  };
  next();
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const probe = JSON.parse(line);
  if (probe.op === 'echo') echo(probe);
  else if (probe.op === 'dns') void resolveName(probe);
  else if (probe.op === 'rate') rate(probe);
  else if (probe.op === 'close') open.get(probe.conn)?.destroy();
  else if (probe.protocol === 'UDP') probeUdp(probe);
  else if (probe.tls) probeTls(probe);
  else probeTcp(probe);
});
process.stdin.on('end', () => process.exit(0));
