<?php
// Prints the request's meta-variables and body as JSON, for the tests.
header('Content-Type: application/json');
$keys = ['SCRIPT_FILENAME', 'SCRIPT_NAME', 'PATH_INFO', 'PATH_TRANSLATED', 'QUERY_STRING', 'REQUEST_METHOD', 'CONTENT_TYPE', 'CONTENT_LENGTH',
  'REQUEST_URI', 'DOCUMENT_ROOT', 'GATEWAY_INTERFACE', 'SERVER_PROTOCOL', 'SERVER_NAME', 'SERVER_PORT', 'REMOTE_ADDR', 'HTTPS',
  'HTTP_HOST', 'HTTP_X_CUSTOM', 'HTTP_PROXY', 'HTTP_AUTHORIZATION', 'APP_ENV', 'APP_PATH', 'PHP_SELF'];
$out = [];
foreach ($keys as $k) if (isset($_SERVER[$k])) $out[$k] = $_SERVER[$k];
$out['body'] = file_get_contents('php://input');
$out['post'] = $_POST;
echo json_encode($out);
