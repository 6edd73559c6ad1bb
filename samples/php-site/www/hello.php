<?php
// Post/redirect/get: a POST answers 303 to a GET of the same page.
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $name = trim($_POST['name'] ?? '') ?: 'stranger';
    error_log("hello.php: greeted $name");
    header('Location: /hello.php?name=' . rawurlencode($name), true, 303);
    exit;
}
$name = $_GET['name'] ?? null;
?>
<!doctype html>
<html><head><title>hello</title><link rel="stylesheet" href="/assets/style.css"></head>
<body>
<?php if ($name !== null): ?>
<p>Hello, <?= htmlspecialchars($name) ?>!</p>
<?php else: ?>
<form method="post"><input name="name" placeholder="your name"> <button>Say hello</button></form>
<?php endif; ?>
</body></html>
