import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startGate, type TestGate } from '../helpers/gate.js';
import { echoClient, echoServer, unary, type EchoClient, type EchoServer, type Note } from './grpc-fixtures.js';
import { waitFor } from './proxy-upstreams.js';

describe('proxy to gRPC services (h2c:// and h2:// upstreams)', function () {
  this.timeout(15_000);
  let gate: TestGate | undefined;
  let service: EchoServer | undefined;
  let client: EchoClient | undefined;

  afterEach(async () => {
    client?.close();
    await gate?.close();
    await service?.close();
    gate = service = client = undefined;
  });

  async function behindGate(listen = 'h2c', extra = ''): Promise<EchoClient> {
    service = await echoServer();
    gate = await startGate(`server { listen 127.0.0.1:0 ${listen}; proxy h2c://127.0.0.1:${service.port} { ${extra} } }`);
    return (client = echoClient(`127.0.0.1:${gate.port}`));
  }

  it('passes a unary call through, metadata both ways and the status trailer', async () => {
    const c = await behindGate();
    const md = new grpc.Metadata();
    md.set('x-tag', 'via gatekit');
    let served: grpc.Metadata | undefined;
    const call = (cb: (e: grpc.ServiceError | null, r?: Note) => void) => c.Say({ text: 'hello', count: 41 }, md, {}, cb).on('metadata', (m) => { served = m; });
    const answer = await unary<Note>(call);
    assert.deepEqual(answer, { text: 'hello (via gatekit)', count: 42 });
    assert.deepEqual(served?.get('x-served-by'), ['echo']);
    // a second call rides the same upstream session
    assert.equal((await unary<Note>((cb) => c.Say({ text: 'again' }, new grpc.Metadata(), {}, cb))).text, 'again');
  });

  it('streams a server-streaming answer, message by message, to its end', async () => {
    const c = await behindGate();
    const got: Note[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = c.Repeat({ text: 'tick', count: 200 });
      call.on('data', (n: Note) => got.push(n));
      call.on('error', reject);
      call.on('status', (s: grpc.StatusObject) => (s.code === grpc.status.OK ? resolve() : reject(new Error(s.details))));
    });
    assert.equal(got.length, 200);
    assert.deepEqual(got[199], { text: 'tick 199', count: 199 });
  });

  it('streams a client-streaming call upstream and passes its answer back', async () => {
    const c = await behindGate();
    const answer = await unary<Note>((cb) => {
      const call = c.Gather(cb);
      for (let i = 1; i <= 100; i++) call.write({ text: `n${i}`, count: i });
      call.end();
    });
    assert.equal(answer.count, 5050);
    assert.equal(answer.text.split(',').length, 100);
  });

  it('passes an error status and its message back (a trailers-only answer)', async () => {
    const c = await behindGate();
    const e = await unary<Note>((cb) => c.Fail({ text: 'x' }, cb)).then(() => assert.fail('Fail answered OK'), (err: grpc.ServiceError) => err);
    assert.equal(e.code, grpc.status.NOT_FOUND);
    assert.equal(e.details, 'no such note: ünïcode too');
  });

  it('a deadline ends the call for the client and cancels it upstream', async () => {
    const c = await behindGate();
    const e = await unary<Note>((cb) => c.Stall({ text: 'wait' }, new grpc.Metadata(), { deadline: Date.now() + 300 }, cb))
      .then(() => assert.fail('Stall answered'), (err: grpc.ServiceError) => err);
    assert.equal(e.code, grpc.status.DEADLINE_EXCEEDED);
    await waitFor(() => service!.cancelled === 1, 3000, 'the upstream call to be cancelled');
    // the gate and its upstream session still serve
    assert.equal((await unary<Note>((cb) => c.Say({ text: 'after' }, new grpc.Metadata(), {}, cb))).text, 'after');
  });

  it('an upstream that is down is UNAVAILABLE to the client (502) with one log line', async () => {
    service = await echoServer();
    const port = service.port;
    await service.close();
    gate = await startGate(`server { listen 127.0.0.1:0 h2c; proxy h2c://127.0.0.1:${port} }`);
    client = echoClient(`127.0.0.1:${gate.port}`);
    const c = client;
    const e = await unary<Note>((cb) => c.Say({ text: 'x' }, new grpc.Metadata(), {}, cb)).then(() => assert.fail('answered'), (err: grpc.ServiceError) => err);
    assert.equal(e.code, grpc.status.UNAVAILABLE);
    assert.match(e.details, /502/);
    assert.equal(gate.logs.filter((l) => /upstream connect failed/.test(l) && l.includes('ECONNREFUSED')).length, 1);
  });
});
