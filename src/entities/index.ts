import { UserEntity } from "./user.entity";

/** Every entity the DataSource maps. */
export const entities = [UserEntity];
