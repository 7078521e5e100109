#!/usr/bin/env node
import { main } from './program.js';

main(process.argv);
