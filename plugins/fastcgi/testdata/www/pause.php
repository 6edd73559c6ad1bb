<?php
usleep(400000);
echo "paused\n";
