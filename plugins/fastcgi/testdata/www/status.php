<?php
header('Status: 418 I\'m a teapot');
echo "short and stout\n";
