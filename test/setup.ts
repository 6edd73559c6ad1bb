// Loaded by mocha before every suite (see .mocharc.json): decorators need the Reflect polyfill.
import 'reflect-metadata';
