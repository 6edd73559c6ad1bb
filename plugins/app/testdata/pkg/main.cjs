module.exports = { fetch: () => new Response('from a package folder') };
