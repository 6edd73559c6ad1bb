<?php
sleep(3);
echo "late\n";
