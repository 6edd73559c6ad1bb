<?php
no_such_function_gk();
