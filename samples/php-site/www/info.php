<?php
// The phpinfo(INFO_VARIABLES) part that matters behind a gateway, as a small table.
$keys = ['GATEWAY_INTERFACE', 'SERVER_SOFTWARE', 'REQUEST_METHOD', 'REQUEST_URI', 'SCRIPT_NAME', 'SCRIPT_FILENAME', 'PATH_INFO',
  'PATH_TRANSLATED', 'QUERY_STRING', 'DOCUMENT_ROOT', 'REMOTE_ADDR', 'SERVER_NAME', 'SERVER_PORT', 'HTTP_HOST', 'HTTP_USER_AGENT', 'APP_ENV'];
?>
<!doctype html>
<html><head><title>info</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><h1>Request variables</h1><table>
<?php foreach ($keys as $k): ?>
<tr><td><?= $k ?></td><td><?= htmlspecialchars((string)($_SERVER[$k] ?? '')) ?></td></tr>
<?php endforeach; ?>
</table></body></html>
