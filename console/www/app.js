/* placeholder: the console script comes from Part C */
"use strict";
