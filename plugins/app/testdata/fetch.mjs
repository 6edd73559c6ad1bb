// A fetch-style handler: (Request) => Response, streaming its body back.
export default async function handler(request) {
  const url = new URL(request.url);
  if (url.pathname.endsWith('/stream')) {
    const stream = new ReadableStream({
      start(controller) {
        for (const part of ['one ', 'two ', 'three']) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });
    return new Response(stream, { status: 201, headers: { 'content-type': 'text/plain' } });
  }
  const headers = new Headers({ 'content-type': 'application/json' });
  headers.append('set-cookie', 'a=1');
  headers.append('set-cookie', 'b=2');
  const body = request.body ? await request.text() : null;
  return new Response(JSON.stringify({ method: request.method, url: request.url, body, custom: request.headers.get('x-custom') }), { status: 200, headers });
}
