// Half 1 of the SpamAssassin corpus through the MIME parser (see fixtures/mime/corpus-suite.ts).
import { defineCorpusSuite } from './fixtures/mime/corpus-suite.js';

defineCorpusSuite(1);
