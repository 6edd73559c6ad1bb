import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { REPO } from '../helpers/paths.js';

/** Note is the message of the test service. */
export interface Note {
  text: string;
  count: number;
}

/** EchoClient is the generated client of gatekit.test.Echo, typed by hand for the calls the tests make. */
export interface EchoClient extends grpc.Client {
  Say(n: Partial<Note>, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Note) => void): grpc.ClientUnaryCall;
  Repeat(n: Partial<Note>): grpc.ClientReadableStream<Note>;
  Gather(cb: (e: grpc.ServiceError | null, r?: Note) => void): grpc.ClientWritableStream<Partial<Note>>;
  Fail(n: Partial<Note>, cb: (e: grpc.ServiceError | null, r?: Note) => void): grpc.ClientUnaryCall;
  Stall(n: Partial<Note>, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Note) => void): grpc.ClientUnaryCall;
}

const def = loadSync(join(REPO, 'test', 'fixtures', 'grpc', 'echo.proto'), { defaults: true });
const pkg = grpc.loadPackageDefinition(def) as unknown as { gatekit: { test: { Echo: grpc.ServiceClientConstructor } } };
const Echo = pkg.gatekit.test.Echo;

/** EchoServer is a real gRPC server on 127.0.0.1 port 0, with what it saw. */
export interface EchoServer {
  readonly port: number;
  /** cancelled counts calls whose client went away (a deadline, a cancel) before the answer. */
  readonly cancelled: number;
  close(): Promise<void>;
}

/**
 * echoServer serves gatekit.test.Echo: Say answers its note with the caller's `x-tag` metadata,
 * Repeat streams `count` notes, Gather sums what a client streams, Fail answers NOT_FOUND with
 * a message, Stall never answers (until the call is cancelled). `creds` serves TLS.
 */
export async function echoServer(creds = grpc.ServerCredentials.createInsecure()): Promise<EchoServer> {
  const server = new grpc.Server();
  let cancelled = 0;
  server.addService(Echo.service, {
    Say: (call: grpc.ServerUnaryCall<Note, Note>, cb: grpc.sendUnaryData<Note>) => {
      const tag = call.metadata.get('x-tag')[0] ?? '';
      const md = new grpc.Metadata();
      md.set('x-served-by', 'echo');
      call.sendMetadata(md);
      cb(null, { text: `${call.request.text}${tag ? ` (${String(tag)})` : ''}`, count: call.request.count + 1 });
    },
    Repeat: (call: grpc.ServerWritableStream<Note, Note>) => {
      for (let i = 0; i < call.request.count; i++) call.write({ text: `${call.request.text} ${i}`, count: i });
      call.end();
    },
    Gather: (call: grpc.ServerReadableStream<Note, Note>, cb: grpc.sendUnaryData<Note>) => {
      const texts: string[] = [];
      let sum = 0;
      call.on('data', (n: Note) => {
        texts.push(n.text);
        sum += n.count;
      });
      call.on('end', () => cb(null, { text: texts.join(','), count: sum }));
    },
    Fail: (_call: grpc.ServerUnaryCall<Note, Note>, cb: grpc.sendUnaryData<Note>) => {
      cb({ code: grpc.status.NOT_FOUND, details: 'no such note: ünïcode too' });
    },
    Stall: (call: grpc.ServerUnaryCall<Note, Note>) => {
      call.on('cancelled', () => {
        cancelled++;
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))));
  return {
    port,
    get cancelled() {
      return cancelled;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

/** echoClient is a client of gatekit.test.Echo at `address` (host:port), in cleartext unless `creds` says TLS. */
export function echoClient(address: string, creds = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}): EchoClient {
  return new Echo(address, creds, options) as unknown as EchoClient;
}

/** unary calls `fn` the callback way and resolves with its answer, or rejects with its ServiceError. */
export function unary<T>(fn: (cb: (e: grpc.ServiceError | null, r?: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(r as T))));
}
