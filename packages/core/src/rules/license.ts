/**
 * The one rule for "which document of a pack is a license the operator must accept before it is
 * installed". The wizard shows it, answer files and the command line (--accept-eula) accept it,
 * and the install itself refuses a pack that carries one without acceptance: every path agrees.
 * Kept free of imports: the wizard and the answer-file checks read it without loading the engine.
 */

/** A document named like a license agreement: EULA.txt, LICENSE.txt, licence.md, ... */
const LICENSE_NAME = /eula|licen[cs]e/i;

/** The pack's license agreement: EULA.txt when it ships one, else the first document named like a license. */
export function licenseDocument(m: { documents?: readonly { name: string }[] | undefined }): string | undefined {
  const docs = m.documents ?? [];
  return docs.find((d) => d.name === 'EULA.txt')?.name ?? docs.find((d) => LICENSE_NAME.test(d.name))?.name;
}
