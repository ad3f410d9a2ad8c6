import "reflect-metadata";
import fs from "node:fs";
import path from "node:path";
import { printSchemaSDL } from "../schema/build-schema";

/** `npm run schema`: writes the built SDL to schema.graphql at the project root. */
printSchemaSDL()
  .then((sdl) => {
    const file = path.resolve(__dirname, "../../../schema.graphql");
    fs.writeFileSync(file, sdl);
    console.log(`wrote ${file}`);
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
