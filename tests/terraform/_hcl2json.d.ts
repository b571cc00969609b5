/**
 * The one function of `@cdktf/hcl2json` the tests use. Its own declarations start with
 * `/// <reference lib="dom" />`, which would put the DOM library into every type check of
 * the project (and break Deno's stream types elsewhere), so they are replaced by this.
 *
 * @module
 */

/**
 * Parses one HCL file into hcl2json's JSON form.
 *
 * @param filename the name used in error messages
 * @param contents the file's text
 * @returns the body as JSON
 */
export declare function parse(filename: string, contents: string): Promise<Record<string, unknown>>;
