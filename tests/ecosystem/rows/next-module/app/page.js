import Cycle from "./cycle-client";

export default function Home() {
  return <main><Cycle /></main>;
}
