<?php
// A Location path with no Status (PHP sends none for 200): the server serves that path instead.
header('Location: /php/env.php/redirected?from=local', true, 200);
echo "this body is discarded\n";
