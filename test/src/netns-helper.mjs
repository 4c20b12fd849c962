// Runs inside one network namespace of the test cluster (`ip netns exec NS node netns-helper.mjs`):
// TCP and UDP echo servers on the ports given in argv, and a client that takes JSON-line probes on
// stdin ({id, protocol, host, port, localAddress?, timeoutMs}) and answers on stdout with
// {id, outcome: "connected" | "refused" | "timeout" | "error"}. Plain JavaScript: it starts fast.
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

// argv: the namespace's own addresses (comma-separated), then the ports. UDP servers bind each
// address, so that a reply leaves from the address the request went to (a connected UDP client
// ignores any other source).
const addresses = process.argv[2].split(',').filter((a) => a !== '');
const ports = process.argv.slice(3).map(Number);
let listening = 0;
const ready = () => {
  listening++;
  if (listening === ports.length * (1 + addresses.length)) {
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  }
};
for (const port of ports) {
  const tcp = createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  tcp.listen({ port, host: '::' }, ready);
  for (const address of addresses) {
    const udp = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
    udp.bind(port, address, ready);
  }
}
if (ports.length === 0) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

const answer = (id, outcome) => process.stdout.write(`${JSON.stringify({ id, outcome })}\n`);

// Connections kept open by `{op: "open"}`, by the probe id that opened them.
const open = new Map();

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

createInterface({ input: process.stdin }).on('line', (line) => {
  const probe = JSON.parse(line);
  if (probe.op === 'echo') echo(probe);
  else if (probe.op === 'close') open.get(probe.conn)?.destroy();
  else if (probe.protocol === 'UDP') probeUdp(probe);
  else probeTcp(probe);
});
process.stdin.on('end', () => process.exit(0));
