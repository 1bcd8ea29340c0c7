export { AzureDriver, type AzureDriverOptions } from './driver';
