<?php
http_response_code(201);
header('X-Php: yes');
header('Set-Cookie: a=1', false);
header('Set-Cookie: b=2', false);
header('Content-Type: text/plain');
echo "created\n";
