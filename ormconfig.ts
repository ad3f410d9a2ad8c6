import "reflect-metadata";
import { loadConfig } from "./src/config";
import { createDataSource } from "./src/db/data-source";

/** The DataSource the TypeORM CLI uses (`npx typeorm -d dist/ormconfig.js migration:show`). */
export default createDataSource(loadConfig());
