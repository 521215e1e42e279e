// fxa-common-password-list ships no types. Its whole API: whether a string is on the list.
declare module 'fxa-common-password-list' {
  const list: {
    /** Exact, case-sensitive match against the list (whose entries are all lower case). */
    test(password: string): boolean;
  };
  export = list;
}
