import { MemoryTransactionStore } from './memory-transaction-store.js';
import { transactionStoreConformance } from './transaction-store-conformance.js';

transactionStoreConformance('Map (event-loop)', { open: async () => new MemoryTransactionStore() }, { runs: 200 });
