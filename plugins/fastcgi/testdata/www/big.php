<?php
// 4 MiB in 64 KiB pieces: more than the socket buffers, so backpressure matters.
header('Content-Type: application/octet-stream');
$piece = str_repeat('x', 65536);
for ($i = 0; $i < 64; $i++) echo $piece;
