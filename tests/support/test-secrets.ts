/** A real bcrypt hash (htpasswd -nbBC 10, of "correct-horse-battery"): what a stack holds for a bcrypt secret. */
export const TEST_BCRYPT_HASH = "$2y$10$ubu8x0vjgG2cSiwInw/U3unLfguiNXwHy8xcQh0HgP8Bq8/7wvfeq";
