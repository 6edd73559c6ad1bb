<?php $title = 'gatekit + PHP-FPM'; ?>
<!doctype html>
<html><head><title><?= $title ?></title><link rel="stylesheet" href="/assets/style.css"></head>
<body>
<h1><?= $title ?></h1>
<p>PHP <?= PHP_VERSION ?> (<?= php_sapi_name() ?>), served through <?= htmlspecialchars($_SERVER['SERVER_SOFTWARE'] ?? '') ?>.</p>
<ul>
  <li><a href="/info.php/some/path?x=1">info.php</a>: the CGI meta-variables</li>
  <li><a href="/hello.php">hello.php</a>: a form</li>
</ul>
</body></html>
