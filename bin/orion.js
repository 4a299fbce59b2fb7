#!/usr/bin/env node
// The operator CLI runs the compiled build: `npm run build` first (npm start does it for you).
require("../dist/cli/main.js");
